//! `shmiface`: see and steer shmiface segments from the shell.
//!
//! Every command is a thin layer over the library's Rust API (`shmiface::
//! Segment` and friends): this crate parses arguments, prints, and handles
//! signals; it holds no second implementation of anything in a segment.
//!
//! - `main.rs`: the command line (clap) and the exit statuses.
//! - `commands.rs`: one function per command.
//! - `scan.rs`: what is in /dev/shm (for `ls` and `gc`).
//! - `render.rs`: tables, key/value lists, JSON, colours, times.
//! - `signals.rs`: SIGINT/SIGTERM/SIGHUP as events for `watch` and `create`.
//! - `waiting.rs`: waits in slices that say when the owner is dead.
//! - `external.rs`: `bridge`, which runs the separate shmiface-bridge program.

mod commands;
mod external;
mod render;
mod scan;
mod signals;
mod waiting;

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// See and steer shmiface segments: named values in POSIX shared memory.
#[derive(Parser)]
#[command(
    name = "shmiface",
    version,
    arg_required_else_help = true,
    after_help = "Exit status: 0 on success, 1 on an error (one line on standard error naming \
                  the segment and the reason); `wait` exits 2 when it times out."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the shmiface segments in /dev/shm
    ///
    /// One row per segment: name, capacity, length, version, owner pid,
    /// whether the owner is alive, waiters, mode. Objects that are not
    /// shmiface segments are skipped (shown with --all).
    Ls {
        /// Also show objects that are not (usable) shmiface segments, and why
        #[arg(long)]
        all: bool,
        /// Print a JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show everything known about one segment
    Info {
        /// The segment's name
        name: String,
        /// Print a JSON object instead of a list
        #[arg(long)]
        json: bool,
    },
    /// Print a segment's value
    Get {
        /// The segment's name
        name: String,
        /// Write the value's exact bytes, with no newline added
        #[arg(long)]
        bytes: bool,
    },
    /// Replace a segment's value
    Set {
        /// The segment's name
        name: String,
        /// The new value; `-` reads it from standard input, less one
        /// final newline (see --bytes). Put `--` before a value that starts
        /// with `-`.
        value: OsString,
        /// Then wake every process waiting on the segment
        #[arg(long)]
        notify: bool,
        /// With `-`: store standard input's exact bytes, a final newline too
        #[arg(long)]
        bytes: bool,
    },
    /// Wait for the next notification and print the value
    ///
    /// Exit status 0 on a notification, 2 on timeout, 1 on an error
    /// (including the segment being destroyed while waiting). Says so on
    /// standard error, and goes on waiting, when the owner is dead.
    Wait {
        /// The segment's name
        name: String,
        /// Give up after this many seconds (fractions allowed; 0 polls;
        /// -1, or no --timeout, waits forever)
        #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_negative_numbers = true)]
        timeout: Option<Limit>,
    },
    /// Print every new value, in order, until interrupted
    ///
    /// Each version set from now on is printed on its own line, whether
    /// or not its writer notified. Values that were overwritten before
    /// they could be printed (more than the segment's history) are
    /// counted on standard error, where they were lost. Ends with status
    /// 0 on SIGINT, SIGTERM or SIGHUP, or when the owner destroys the
    /// segment. Says so on standard error when the owner is dead.
    Watch {
        /// The segment's name
        name: String,
    },
    /// Print the values a segment keeps, oldest first
    Tail {
        /// The segment's name
        name: String,
        /// Only the newest K of them
        #[arg(short = 'n', value_name = "K")]
        count: Option<u64>,
    },
    /// Create a segment and hold it as its owner until interrupted
    ///
    /// Prints one line once the segment is ready. On SIGINT (Ctrl-C),
    /// SIGTERM or SIGHUP it destroys the segment (a persistent one is
    /// only released, and stays in /dev/shm) and exits 0. Takes over a
    /// segment of that name whose owner died.
    Create {
        /// The segment's name
        name: String,
        /// Bytes one value may hold (suffixes K, M, G: powers of 1024) [default: 128]
        #[arg(long, value_name = "N", value_parser = parse_size)]
        capacity: Option<u64>,
        /// Permission bits, in octal [default: 0600]
        #[arg(long, value_name = "MODE", value_parser = parse_mode)]
        mode: Option<u32>,
        /// Leave the segment in /dev/shm when this owner ends
        #[arg(long)]
        persistent: bool,
        /// Values the segment keeps readable (1..=65536) [default: 1]
        #[arg(long, value_name = "N")]
        history: Option<u32>,
    },
    /// Remove a segment's name from /dev/shm
    ///
    /// Processes that have it mapped keep their mapping; new ones cannot
    /// attach.
    Rm {
        /// The segment's name
        name: String,
    },
    /// Remove every segment whose owner is dead
    ///
    /// Each one is taken over and destroyed through the library, so a
    /// segment whose owner comes back meanwhile is left alone and
    /// processes still attached to a removed one see it destroyed.
    /// Persistent segments outlive their owners by design: they are kept
    /// unless --persistent is given.
    Gc {
        /// Only list what would be removed
        #[arg(long)]
        dry_run: bool,
        /// Remove ownerless persistent segments too
        #[arg(long)]
        persistent: bool,
    },
    /// Share segments with other machines over Zenoh (runs shmiface-bridge)
    ///
    /// Every argument goes to shmiface-bridge, found next to this program
    /// or on PATH; `shmiface bridge --help` shows its options.
    #[command(disable_help_flag = true)]
    Bridge {
        /// The bridge's arguments
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<OsString>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are successes; any usage error is status 1,
            // so that `wait`'s status 2 always means a timeout.
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let outcome = match cli.command {
        Command::Ls { all, json } => commands::ls(all, json),
        Command::Info { name, json } => commands::info(&name, json),
        Command::Get { name, bytes } => commands::get(&name, bytes),
        Command::Set {
            name,
            value,
            notify,
            bytes,
        } => commands::set(&name, &value, notify, bytes),
        Command::Wait { name, timeout } => commands::wait(&name, timeout.and_then(|l| l.0)),
        Command::Watch { name } => commands::watch(&name),
        Command::Tail { name, count } => commands::tail(&name, count),
        Command::Create {
            name,
            capacity,
            mode,
            persistent,
            history,
        } => commands::create(&name, capacity, mode, persistent, history),
        Command::Rm { name } => commands::rm(&name),
        Command::Gc {
            dry_run,
            persistent,
        } => commands::gc(dry_run, persistent),
        Command::Bridge { args } => external::bridge(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(failure) => {
            render::error_line(&failure.subject, &failure.detail);
            ExitCode::from(1)
        }
    }
}

/// `wait --timeout`: a duration, or None for no limit (-1, as in the C API).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Limit(Option<Duration>);

fn parse_seconds(s: &str) -> Result<Limit, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if secs == -1.0 {
        return Ok(Limit(None));
    }
    Duration::try_from_secs_f64(secs)
        .map(|d| Limit(Some(d)))
        .map_err(|_| format!("{s:?} is not a duration of zero seconds or more, nor -1 (forever)"))
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&t[..at], c.to_ascii_uppercase()),
        _ => (t, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return Err(format!("{s:?}: the suffix must be K, M or G")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1u64 << shift))
        .ok_or_else(|| format!("{s:?} is not a size in bytes (such as 4096 or 64K)"))
}

fn parse_mode(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let t = t.strip_prefix("0o").unwrap_or(t);
    u32::from_str_radix(t, 8)
        .ok()
        .filter(|m| m & !0o777 == 0)
        .ok_or_else(|| format!("{s:?} is not an octal mode of 0 to 0777 (such as 0600)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_modes_and_seconds() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("K").is_err());
        assert!(parse_size("99999999999999G").is_err());
        assert_eq!(parse_mode("0640"), Ok(0o640));
        assert_eq!(parse_mode("600"), Ok(0o600));
        assert_eq!(parse_mode("0o644"), Ok(0o644));
        assert!(parse_mode("0800").is_err());
        assert!(parse_mode("4755").is_err());
        assert_eq!(
            parse_seconds("0.25"),
            Ok(Limit(Some(Duration::from_millis(250))))
        );
        assert_eq!(parse_seconds("0"), Ok(Limit(Some(Duration::ZERO))));
        assert_eq!(parse_seconds("-1"), Ok(Limit(None)));
        assert!(parse_seconds("-2").is_err());
        assert!(parse_seconds("-0.5").is_err());
        assert!(parse_seconds("soon").is_err());
        assert!(parse_seconds("inf").is_err());
    }
}
