//! One function per command. Each returns the exit status, or the failure
//! that `main` prints as one line and turns into status 1.

use std::ffi::OsStr;
use std::fmt::Display;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;
use shmiface::{ErrorKind, Options, Segment, SHM_DIR};

use crate::render::{self, Palette, Tone};
use crate::scan::{self, Entry, Other};
use crate::signals::{self, Termination};
use crate::waiting::{Slice, Waiter};

/// What went wrong, and with what (a segment's name, or a path).
pub struct Failure {
    pub subject: String,
    pub detail: String,
}

impl Failure {
    pub fn new(subject: &str, detail: impl Display) -> Failure {
        Failure {
            subject: subject.to_owned(),
            detail: detail.to_string(),
        }
    }
}

pub type Outcome = Result<ExitCode, Failure>;

/// `wait`'s exit status when no notification came in time.
const TIMED_OUT: u8 = 2;

fn attach(name: &str) -> Result<Segment, Failure> {
    Segment::attach(name).map_err(|e| failure(name, e))
}

/// The library's error about `name`, saying so plainly when it does not exist.
fn failure(name: &str, e: shmiface::Error) -> Failure {
    match e.kind() {
        ErrorKind::NotFound => Failure::new(name, format!("no such segment ({e})")),
        _ => Failure::new(name, e),
    }
}

/// Writes to standard output and flushes. `Ok(false)`: the reader has gone
/// (a closed pipe, as with `| head`), which ends a command quietly.
fn emit(bytes: &[u8]) -> Result<bool, Failure> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Failure::new("standard output", e)),
    }
}

/// A value as a line of text: invalid UTF-8 is replaced (`--bytes` is exact).
fn text_line(value: &[u8]) -> Vec<u8> {
    let mut line = String::from_utf8_lossy(value).into_owned().into_bytes();
    line.push(b'\n');
    line
}

pub fn ls(all: bool, json: bool) -> Outcome {
    let entries: Vec<Entry> = scan::scan()?
        .into_iter()
        .filter(|e| all || matches!(e, Entry::Segment { .. }))
        .collect();
    if json {
        let list = Value::Array(entries.iter().map(render::entry_json).collect());
        emit(render::pretty(&list).as_bytes())?;
    } else {
        // With nothing to list, the headings alone: an empty listing, as
        // `ls` of an empty directory, rather than a line shaped like an error.
        emit(render::table(&entries).as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn info(name: &str, json: bool) -> Outcome {
    let seg = attach(name)?;
    let info = seg.info().map_err(|e| Failure::new(name, e))?;
    let text = if json {
        render::info_json(name, &info)
    } else {
        render::info_text(name, &info)
    };
    emit(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

pub fn get(name: &str, bytes: bool) -> Outcome {
    let seg = attach(name)?;
    let (value, _version) = seg.read().map_err(|e| Failure::new(name, e))?;
    if bytes {
        emit(&value)?;
    } else {
        emit(&text_line(&value))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn set(name: &str, value: &OsStr, notify: bool, exact: bool) -> Outcome {
    // Attach first: a missing segment is reported before stdin is read.
    let seg = attach(name)?;
    let data = if value == "-" {
        let mut data = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut data)
            .map_err(|e| Failure::new(name, format!("reading standard input: {e}")))?;
        // `echo v | shmiface set NAME -` means the value "v", as `$(...)`
        // would take it; `get` adds that newline back. --bytes keeps it.
        if !exact && data.last() == Some(&b'\n') {
            data.pop();
        }
        data
    } else {
        value.as_bytes().to_vec()
    };
    seg.write(&data, notify)
        .map_err(|e| Failure::new(name, e))?;
    Ok(ExitCode::SUCCESS)
}

pub fn wait(name: &str, timeout: Option<Duration>) -> Outcome {
    let seg = attach(name)?;
    // The cursor starts at the count now, so a notification from here on
    // is never missed.
    let mut waiter = Waiter::new(&seg, name, timeout);
    loop {
        match waiter.slice().map_err(|e| Failure::new(name, e))? {
            Slice::Notified => break,
            Slice::Quiet => {}
            Slice::TimedOut => {
                // The library's detail names the segment too; say it once.
                let waited = timeout.unwrap_or_default().as_millis();
                render::note(name, &format!("no notification within {waited} ms"));
                return Ok(ExitCode::from(TIMED_OUT));
            }
        }
    }
    let (value, _version) = seg.read().map_err(|e| Failure::new(name, e))?;
    emit(&text_line(&value))?;
    Ok(ExitCode::SUCCESS)
}

pub fn watch(name: &str) -> Outcome {
    let term = Termination::block().map_err(|e| Failure::new(name, e))?;
    let seg = attach(name)?;
    let mut owner = Waiter::new(&seg, name, None);
    let mut after = seg.info().map_err(|e| Failure::new(name, e))?.version;
    loop {
        if term.take().is_some() {
            return Ok(ExitCode::SUCCESS);
        }
        // In slices, so that a signal ends the watch promptly.
        let next = owner
            .check_owner()
            .and_then(|()| seg.next(after, Some(crate::waiting::SLICE)));
        match next {
            Ok((value, version)) => {
                let lost = version - after - 1;
                if lost > 0 {
                    render::note(
                        name,
                        &format!(
                            "{lost} values lost (overwritten unread) before version {version}"
                        ),
                    );
                }
                after = version;
                if !emit(&text_line(&value))? {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Err(e) if e.kind() == ErrorKind::Timeout => {}
            Err(e) if e.kind() == ErrorKind::Destroyed => {
                render::note(name, "the owner destroyed the segment");
                return Ok(ExitCode::SUCCESS);
            }
            Err(e) => return Err(Failure::new(name, e)),
        }
    }
}

pub fn tail(name: &str, count: Option<u64>) -> Outcome {
    let seg = attach(name)?;
    let info = seg.info().map_err(|e| Failure::new(name, e))?;
    if info.version == 0 || count == Some(0) {
        return Ok(ExitCode::SUCCESS);
    }
    let first = match count {
        Some(k) => info.oldest_version.max(info.version.saturating_sub(k - 1)),
        None => info.oldest_version,
    };
    let mut after = first - 1;
    while after < info.version {
        match seg.next(after, Some(Duration::ZERO)) {
            Ok((value, version)) => {
                after = version;
                if !emit(&text_line(&value))? {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::Timeout => break,
            Err(e) => return Err(Failure::new(name, e)),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn create(
    name: &str,
    capacity: Option<u64>,
    mode: Option<u32>,
    persistent: bool,
    history: Option<u32>,
) -> Outcome {
    // Blocked before the segment exists: a signal that comes during
    // creation waits, and then destroys the segment like any other.
    let term = Termination::block().map_err(|e| Failure::new(name, e))?;
    let defaults = Options::default();
    let options = Options {
        capacity: capacity.unwrap_or(defaults.capacity),
        mode: mode.unwrap_or(defaults.mode),
        persistent,
        history: history.unwrap_or(defaults.history),
    };
    let seg = Segment::create(name, &options).map_err(|e| Failure::new(name, e))?;
    let info = seg.info().map_err(|e| Failure::new(name, e))?;
    let (kind, end) = if persistent {
        ("persistent segment", "release")
    } else {
        ("segment", "destroy")
    };
    // Scripts wait for this line: the segment is ready once it is printed.
    emit(
        format!(
            "created {kind} {name} (capacity {}{}, mode {}, owner pid {}); interrupt to {end} it\n",
            info.capacity,
            match info.history {
                1 => String::new(),
                h => format!(", history {h}"),
            },
            render::mode(info.mode),
            info.owner_pid
        )
        .as_bytes(),
    )?;
    let sig = term.wait();
    seg.destroy().map_err(|e| Failure::new(name, e))?;
    let done = if persistent {
        format!(
            "released {name} on {}; it stays in {SHM_DIR}\n",
            signals::name(sig)
        )
    } else {
        format!("destroyed {name} on {}\n", signals::name(sig))
    };
    emit(done.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

pub fn rm(name: &str) -> Outcome {
    shmiface::unlink(name).map_err(|e| failure(name, e))?;
    Ok(ExitCode::SUCCESS)
}

pub fn gc(dry_run: bool, include_persistent: bool) -> Outcome {
    let p = Palette::stdout();
    let mut failed = false;
    let mut found = false;
    for entry in scan::scan()? {
        let (name, options, why) = match entry {
            Entry::Segment { name, info } if info.destroyed || !info.owner_alive => {
                if info.persistent && !info.destroyed && !include_persistent {
                    render::note(
                        &name,
                        &format!(
                            "kept: persistent, with no live owner (pid {} is gone); \
                             gc --persistent removes it",
                            info.owner_pid
                        ),
                    );
                    continue;
                }
                let options = Options {
                    // The same capacity and mode: the take-over happens in place.
                    capacity: info.capacity,
                    mode: info.mode & 0o777,
                    persistent: false,
                    history: info.history,
                };
                let why = if info.destroyed {
                    "destroyed by its owner".to_owned()
                } else {
                    format!("owner pid {} is dead", info.owner_pid)
                };
                (name, options, why)
            }
            Entry::Other {
                name,
                kind: Other::Destroyed,
                ..
            } => (
                name,
                Options::default(),
                "destroyed by its owner".to_owned(),
            ),
            _ => continue,
        };
        found = true;
        if dry_run {
            emit(format!("would remove {name} ({why})\n").as_bytes())?;
            continue;
        }
        // Taking the segment over holds its owner lock, so a segment whose
        // owner came back since the scan is refused here (Exists), never
        // removed from under it; destroying it then wakes its waiters and
        // removes the name.
        match Segment::create(&name, &options).and_then(Segment::destroy) {
            Ok(()) => {
                let tag = p.paint(Tone::Good, "removed");
                emit(format!("{tag} {name} ({why})\n").as_bytes())?;
            }
            Err(e) if e.kind() == ErrorKind::Exists => {
                render::note(&name, &format!("kept: {e}"));
            }
            Err(e) => {
                failed = true;
                render::error_line(&name, e.detail());
            }
        }
    }
    if !found {
        // Not an error: said on standard output, as the removals are.
        emit(b"nothing to remove: no segment has a dead owner\n")?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
