//! What is in /dev/shm: each object attached to through the library (which
//! checks its magic, layout version and sizes) and asked for its info, or
//! the reason it is not a segment we can show.

use std::time::Duration;

use shmiface::{ErrorKind, Info, Segment, SHM_DIR};

use crate::commands::Failure;

/// How long to wait for an object that may still be being initialised.
/// An empty or all-zero object looks like that, so this must be short: a
/// real creation publishes its segment within microseconds.
const READY_WAIT: Duration = Duration::from_millis(50);

pub enum Entry {
    Segment {
        name: String,
        info: Info,
    },
    Other {
        name: String,
        kind: Other,
        detail: String,
    },
}

/// Why an object in /dev/shm is not listed as a segment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Other {
    /// Not a shmiface segment, another layout version, a bad header, or a
    /// name outside the segment name rule.
    Foreign,
    /// Empty or all zero, or a creation that never finished.
    NotReady,
    /// The owner destroyed it and its name is still there.
    Destroyed,
    /// This user may not open it.
    NoAccess,
    /// Anything else the library reported.
    Error,
}

impl Other {
    pub fn label(self) -> &'static str {
        match self {
            Other::Foreign => "foreign",
            Other::NotReady => "not-ready",
            Other::Destroyed => "destroyed",
            Other::NoAccess => "no-access",
            Other::Error => "error",
        }
    }
}

impl Entry {
    pub fn name(&self) -> &str {
        match self {
            Entry::Segment { name, .. } | Entry::Other { name, .. } => name,
        }
    }
}

/// Every object in /dev/shm, sorted by name. Objects that vanish while
/// being looked at are left out.
pub fn scan() -> Result<Vec<Entry>, Failure> {
    let dir = std::fs::read_dir(SHM_DIR).map_err(|e| Failure::new(SHM_DIR, e))?;
    let mut entries = Vec::new();
    for item in dir {
        let item = item.map_err(|e| Failure::new(SHM_DIR, e))?;
        let Some(name) = item.file_name().to_str().map(str::to_owned) else {
            entries.push(Entry::Other {
                name: item.file_name().to_string_lossy().into_owned(),
                kind: Other::Foreign,
                detail: "its name is not UTF-8, so it is not a segment name".into(),
            });
            continue;
        };
        if let Some(entry) = look_at(name) {
            entries.push(entry);
        }
    }
    entries.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(entries)
}

fn look_at(name: String) -> Option<Entry> {
    let other = |kind, detail: String| {
        Some(Entry::Other {
            name: name.clone(),
            kind,
            detail,
        })
    };
    let error = match Segment::attach_within(&name, READY_WAIT) {
        Ok(seg) => match seg.info() {
            Ok(info) => return Some(Entry::Segment { name, info }),
            Err(e) => e,
        },
        Err(e) => e,
    };
    let kind = match error.kind() {
        ErrorKind::NotFound => return None,
        ErrorKind::Incompatible | ErrorKind::InvalidName => Other::Foreign,
        ErrorKind::NotReady => Other::NotReady,
        ErrorKind::Destroyed => Other::Destroyed,
        ErrorKind::Permission => Other::NoAccess,
        _ => Other::Error,
    };
    other(kind, error.detail().to_owned())
}
