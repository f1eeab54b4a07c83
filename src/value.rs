//! The value: two slots and a seqlock per slot. A writer (holding the
//! robust mutex) fills the slot that is *not* published and then publishes
//! it with one atomic store, so a writer killed mid-copy leaves only an
//! unpublished slot half-written. Readers take no lock: they copy the
//! published slot and keep the copy only if its sequence did not move,
//! which can happen only when two writes overtook them.

use std::sync::atomic::{fence, Ordering};

use crate::error::{Error, ErrorKind, Result};
use crate::layout::{self, publish_word, published_slot, published_version};
use crate::mapping::Mapping;
use crate::sync::{atomic_copy, robust_mutex};

/// A consistent view of the value's length and version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub len: usize,
    pub version: u64,
}

/// A reader retries only when overtaken twice; this many retries means the
/// header is being scribbled on, not written through this library.
const MAX_READ_ATTEMPTS: u64 = 10_000_000;

/// Reads the value into `dst` (or only its length and version when `dst`
/// is None). Never blocks on writers and never returns a torn copy.
#[inline]
pub fn read(m: &Mapping, mut dst: Option<&mut [u8]>) -> Result<Snapshot> {
    m.not_destroyed()?;
    let capacity = m.geometry().capacity as usize;
    let published = &m.header().published.current;
    for _ in 0..MAX_READ_ATTEMPTS {
        let (slot, data) = m.slot(published_slot(published.load(Ordering::Acquire)));
        let seq = slot.seq.load(Ordering::Acquire);
        if seq & 1 == 1 {
            std::hint::spin_loop();
            continue;
        }
        let len = slot.len.load(Ordering::Relaxed);
        let version = slot.version.load(Ordering::Relaxed);
        let fits_slot = len <= capacity as u64;
        let fits_dst = dst.as_ref().is_none_or(|d| len <= d.len() as u64);
        if let Some(d) = dst.as_deref_mut() {
            if fits_slot && fits_dst {
                // SAFETY: len <= capacity keeps the source inside the slot;
                // len <= d.len() keeps the destination inside `d`.
                unsafe { atomic_copy::load(d.as_mut_ptr(), data, len as usize) };
            }
        }
        fence(Ordering::Acquire);
        if slot.seq.load(Ordering::Relaxed) != seq {
            continue;
        }
        if !fits_slot {
            return Err(corrupted(m, len, capacity));
        }
        let len = len as usize;
        if !fits_dst {
            return Err(Error::buffer_too_small(len, dst.map_or(0, |d| d.len())));
        }
        return Ok(Snapshot { len, version });
    }
    Err(never_stable(m))
}

// The errors of `read` and `write` are built out of line: these are every
// reader's and writer's hot path, and formatting inside them would cost
// every call a larger frame.

#[cold]
#[inline(never)]
fn too_large(m: &Mapping, len: usize, capacity: u64) -> Error {
    Error::new(
        ErrorKind::TooLarge,
        format!(
            "a value of {len} bytes does not fit segment {} (capacity {capacity})",
            m.name().as_str()
        ),
    )
}

#[cold]
#[inline(never)]
fn conflict(expected: u64, current: u64) -> Error {
    Error::new(
        ErrorKind::Conflict,
        format!("expected version {expected}, but the value is at version {current}"),
    )
}

#[cold]
#[inline(never)]
fn corrupted(m: &Mapping, len: u64, capacity: usize) -> Error {
    Error::new(
        ErrorKind::Incompatible,
        format!(
            "segment {} is corrupted: a value of {len} bytes in a slot of {capacity}",
            m.name().as_str()
        ),
    )
}

#[cold]
#[inline(never)]
fn never_stable(m: &Mapping) -> Error {
    Error::new(
        ErrorKind::Incompatible,
        format!(
            "segment {} never held a stable value: its memory is being overwritten",
            m.name().as_str()
        ),
    )
}

/// Replaces the value, if `expected` is None or equals the current version.
/// Returns the new version.
pub fn write(m: &Mapping, data: &[u8], expected: Option<u64>) -> Result<u64> {
    m.writable_or_err("setting the value")?;
    let capacity = m.geometry().capacity;
    if data.len() as u64 > capacity {
        return Err(too_large(m, data.len(), capacity));
    }
    m.not_destroyed()?;
    // SAFETY: the mutex lives in the mapping, which outlives the guard.
    let guard = unsafe { robust_mutex::lock(m.mutex()) }?;
    if guard.recovered {
        // The slot protocol needs no repair; counting makes crashes visible.
        m.header()
            .identity
            .lock_recoveries
            .fetch_add(1, Ordering::Relaxed);
    }
    m.not_destroyed()?;
    let published = &m.header().published.current;
    let current = published.load(Ordering::Acquire);
    let current_version = published_version(current);
    if let Some(expected) = expected {
        if expected != current_version {
            return Err(conflict(expected, current_version));
        }
    }
    let target = published_slot(current) ^ 1;
    let version = current_version + 1;
    let (slot, dst) = m.slot(target);
    // An odd sequence here is a writer that died mid-copy: step over it.
    let before = slot.seq.load(Ordering::Relaxed);
    let odd = if before & 1 == 0 {
        before + 1
    } else {
        before + 2
    };
    slot.seq.store(odd, Ordering::Relaxed);
    fence(Ordering::Release);
    // SAFETY: data.len() <= capacity keeps the copy inside the slot.
    unsafe { atomic_copy::store(dst, data.as_ptr(), data.len()) };
    slot.len.store(data.len() as u64, Ordering::Relaxed);
    slot.version.store(version, Ordering::Relaxed);
    slot.seq.store(odd + 1, Ordering::Release);
    published.store(publish_word(version, target as u64), Ordering::Release);
    drop(guard);
    Ok(version)
}

/// Sets up a fresh segment's value: empty, version 0, in slot 0.
pub fn init_empty(m: &Mapping) {
    for index in 0..2 {
        let (slot, _) = m.slot(index);
        slot.seq.store(0, Ordering::Relaxed);
        slot.len.store(0, Ordering::Relaxed);
        slot.version.store(0, Ordering::Relaxed);
    }
    m.header()
        .published
        .current
        .store(layout::publish_word(0, 0), Ordering::Release);
}
