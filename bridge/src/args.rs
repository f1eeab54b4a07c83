//! The command line.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Share shmiface segments with other machines over Eclipse Zenoh.
///
/// Every new version of an exported segment is put on the Zenoh key
/// PREFIX/NAME; every sample on PREFIX/NAME of an imported name is written
/// into the local segment NAME. By default the bridge is a Zenoh peer
/// listening on tcp/127.0.0.1:7447 only, with multicast scouting off.
#[derive(Parser, Debug)]
#[command(
    name = "shmiface-bridge",
    version,
    after_help = "Anyone who can reach a listening port can read every exported segment and \
                  write every imported one (docs/scale.md, \"Security\"). Listening on an address \
                  other than loopback needs --expose."
)]
pub struct Args {
    /// Send this segment's new versions (repeatable; a glob such as `robot.*`
    /// matches the segments in /dev/shm, now and later)
    #[arg(long, value_name = "NAME")]
    pub export: Vec<String>,
    /// Write the samples of this name into the local segment (repeatable; a
    /// glob too); created, and owned by the bridge, if absent
    #[arg(long, value_name = "NAME")]
    pub import: Vec<String>,
    /// The first part of every key
    #[arg(long, default_value = "shmiface")]
    pub prefix: String,
    /// A Zenoh endpoint to listen on, e.g. tcp/127.0.0.1:7447 (repeatable)
    #[arg(long, value_name = "ENDPOINT")]
    pub listen: Vec<String>,
    /// A Zenoh endpoint to connect to, e.g. tcp/10.0.0.2:7447 (repeatable)
    #[arg(long, value_name = "ENDPOINT")]
    pub connect: Vec<String>,
    /// The Zenoh mode
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// A Zenoh json5 configuration file (TLS, access control, anything
    /// else); the flags above apply on top of it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Allow --listen on addresses other than loopback
    #[arg(long)]
    pub expose: bool,
    /// Capacity of an imported segment the bridge creates (default: the
    /// sender's)
    #[arg(long, value_name = "BYTES")]
    pub capacity: Option<u64>,
    /// History of an imported segment the bridge creates (default: the
    /// sender's)
    #[arg(long, value_name = "VALUES")]
    pub history: Option<u32>,
    /// Keep the segments the bridge created when it stops
    #[arg(long)]
    pub persistent: bool,
    /// Print a line of counters every SECS seconds
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "1")]
    pub stats: Option<f64>,
    /// Where imports record what they wrote (lives and dies with /dev/shm)
    #[arg(long, value_name = "DIR", default_value = "/dev/shm/.shmiface-bridge")]
    pub state_dir: PathBuf,
    /// Milliseconds between looks in /dev/shm for segments to export
    #[arg(long, value_name = "MS", default_value_t = 250)]
    pub scan_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Peer,
    Client,
    Router,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Peer => "peer",
            Mode::Client => "client",
            Mode::Router => "router",
        }
    }
}
