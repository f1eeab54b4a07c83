//! What every exporter and importer thread shares: the session, who this
//! bridge is, the counters, the import marks, and the stop flag.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::progress::Registry;
use crate::stats::Stats;

pub struct Ctx {
    pub session: zenoh::Session,
    pub prefix: String,
    /// Random per run: a sample carrying it is this bridge's own.
    pub id: u64,
    pub stats: Stats,
    pub progress: Registry,
    pub stop: AtomicBool,
    pub persistent: bool,
    pub capacity: Option<u64>,
    pub history: Option<u32>,
    /// Bad samples logged so far (the log stays readable under a flood).
    logged_bad: AtomicU64,
}

impl Ctx {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        session: zenoh::Session,
        prefix: String,
        id: u64,
        progress: Registry,
        persistent: bool,
        capacity: Option<u64>,
        history: Option<u32>,
    ) -> Ctx {
        Ctx {
            session,
            prefix,
            id,
            stats: Stats::default(),
            progress,
            stop: AtomicBool::new(false),
            persistent,
            capacity,
            history,
            logged_bad: AtomicU64::new(0),
        }
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    pub fn key(&self, name: &str) -> String {
        format!("{}/{}", self.prefix, name)
    }

    /// The segment name a key stands for, if it is one under the prefix.
    pub fn name_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        let rest = key.strip_prefix(self.prefix.as_str())?.strip_prefix('/')?;
        (!rest.contains('/')).then_some(rest)
    }

    /// Counts a refused sample; logs the first ten, then every thousandth.
    pub fn bad(&self, why: std::fmt::Arguments<'_>) {
        crate::stats::add(&self.stats.bad, 1);
        let n = self.logged_bad.fetch_add(1, Ordering::Relaxed);
        if n < 10 || n % 1000 == 0 {
            log(format_args!("refused a sample: {why}"));
        }
    }
}

pub fn log(message: std::fmt::Arguments<'_>) {
    eprintln!("shmiface-bridge: {message}");
}

/// A random id: 8 bytes of /dev/urandom, or the clock and pid without it.
pub fn random_id() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok()
    {
        return u64::from_le_bytes(b) | 1;
    }
    crate::attachment::now_unix_ns() ^ (u64::from(std::process::id()) << 32) | 1
}
