//! `shmiface-bridge`: shmiface segments shared across machines over
//! Eclipse Zenoh (docs/scale.md).
//!
//! - `args.rs`: the command line; `config.rs`: the Zenoh configuration.
//! - `export.rs`: local segments to Zenoh; `import.rs`: Zenoh to local
//!   segments, through `local.rs` (the segment and the marked write);
//!   `progress.rs`: what imports wrote, kept across a kill.
//! - `attachment.rs`: the 64 bytes each sample carries; `glob.rs`: name
//!   patterns; `stats.rs`: the counters; `signals.rs`: SIGINT/SIGTERM.

mod args;
mod attachment;
mod config;
mod ctx;
mod export;
mod glob;
mod import;
mod local;
mod progress;
mod signals;
mod stats;

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use zenoh::Wait;

use crate::args::Args;
use crate::ctx::{log, Ctx};
use crate::glob::Pattern;

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log(format_args!("{e}"));
            ExitCode::FAILURE
        }
    }
}

fn patterns(texts: &[String]) -> Result<Vec<Pattern>, String> {
    texts.iter().map(|t| Pattern::new(t)).collect()
}

fn run(args: Args) -> Result<(), String> {
    // Before any thread exists, so that every thread inherits the mask.
    let termination = signals::Termination::block().map_err(|e| format!("signals: {e}"))?;
    let exports = patterns(&args.export)?;
    let imports = patterns(&args.import)?;
    // A router with nothing of its own to share only routes (docs/scale.md).
    if exports.is_empty() && imports.is_empty() && args.mode != Some(args::Mode::Router) {
        return Err("nothing to do: give --export NAME and/or --import NAME".into());
    }
    if args.prefix.is_empty() || args.prefix.contains(['*', '$', '?', '#']) {
        return Err(format!("--prefix {:?} is not a plain key", args.prefix));
    }
    let progress = progress::Registry::new(&args.state_dir)
        .map_err(|e| format!("state directory {}: {e}", args.state_dir.display()))?;
    let config = config::build(&args)?;
    let session = zenoh::open(config)
        .wait()
        .map_err(|e| format!("opening the Zenoh session: {e}"))?;
    let id = ctx::random_id();
    log(format_args!(
        "bridge {id:016x} up, Zenoh id {}, prefix {}",
        session.zid(),
        args.prefix
    ));
    let ctx = Arc::new(Ctx::new(
        session,
        args.prefix.clone(),
        id,
        progress,
        args.persistent,
        args.capacity,
        args.history,
    ));
    let importer = if imports.is_empty() {
        None
    } else {
        Some(import::spawn(ctx.clone(), imports)?)
    };
    let mut exporters = export::Exports::new(exports);
    let stats_every = args.stats.map(|s| Duration::from_secs_f64(s.max(0.05)));
    let mut next_stats = Instant::now() + stats_every.unwrap_or(Duration::MAX / 4);
    let signal = loop {
        exporters.scan(&ctx);
        if let Some(sig) = termination.take_within(args.scan_ms.max(1)) {
            break sig;
        }
        if stats_every.is_some() && Instant::now() >= next_stats {
            log(format_args!("{}", ctx.stats));
            next_stats += stats_every.unwrap_or_default();
        }
    };
    log(format_args!("{}: shutting down", signals::name(signal)));
    ctx.stop.store(true, Ordering::Release);
    exporters.join();
    if let Some(importer) = importer {
        let _ = importer.join();
    }
    log(format_args!("{}", ctx.stats));
    // Every thread is joined: this is the last reference.
    if let Ok(ctx) = Arc::try_unwrap(ctx) {
        let _ = ctx.session.close().wait();
    }
    Ok(())
}
