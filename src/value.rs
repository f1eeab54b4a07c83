//! The value: `history + 1` slots and a seqlock per slot. Version `v`
//! lives in slot `v % slots`. A writer (holding the writer lock) fills the
//! slot of the next version, which no reader of a kept version is reading,
//! and then publishes the version with one atomic store, so a writer
//! killed mid-copy leaves only an unpublished slot half-written.
//!
//! Readers take no lock. A reader picks the published version, and keeps
//! its copy only if the slot's sequence did not move *and* the slot holds
//! that very version: a slot can be reused after the reader picked it, and
//! a writer killed after filling it (sequence even again) leaves a value
//! that was never published; without the version check a reader would
//! return that value, and then an older one.

use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::failpoints::fail_point;
use crate::mapping::Mapping;
use crate::sync::atomic_copy;

/// A consistent view of the value's length and version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub len: usize,
    pub version: u64,
}

/// A reader retries only when writers overtook it; retrying for this long
/// (and at least `MIN_READ_ATTEMPTS` times, for values that take long to
/// copy) means the segment is being scribbled on, not written through
/// this library.
const READ_BOUND: Duration = Duration::from_millis(200);
const MIN_READ_ATTEMPTS: u32 = 4;

/// Reads the value into `dst` (or only its length and version when `dst`
/// is None). Never blocks on writers and never returns a torn copy or a
/// value that was not published.
#[inline]
pub fn read(m: &Mapping, mut dst: Option<&mut [u8]>) -> Result<Snapshot> {
    m.not_destroyed()?;
    let capacity = m.geometry().capacity as usize;
    let published = &m.header().published.current;
    let mut retries = Retries::new();
    loop {
        let version = published.load(Ordering::Acquire);
        let (slot, data) = m.slot(m.slot_of(version));
        fail_point!("read.picked");
        let seq = slot.seq.load(Ordering::Acquire);
        if seq & 1 == 0 && slot.version.load(Ordering::Relaxed) == version {
            let len = slot.len.load(Ordering::Relaxed);
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
            if slot.seq.load(Ordering::Relaxed) == seq {
                if !fits_slot {
                    return Err(corrupted(m, len, capacity));
                }
                let len = len as usize;
                if !fits_dst {
                    return Err(Error::buffer_too_small(len, dst.map_or(0, |d| d.len())));
                }
                return Ok(Snapshot { len, version });
            }
        }
        retries.again(m)?;
    }
}

/// Counts a reader's retries, and gives up once they have gone on for
/// longer than any honest writer could make them.
struct Retries {
    count: u32,
    since: Option<Instant>,
}

impl Retries {
    fn new() -> Self {
        Retries {
            count: 0,
            since: None,
        }
    }

    #[cold]
    fn again(&mut self, m: &Mapping) -> Result<()> {
        self.count = self.count.saturating_add(1);
        std::hint::spin_loop();
        let since = *self.since.get_or_insert_with(Instant::now);
        if self.count >= MIN_READ_ATTEMPTS && since.elapsed() > READ_BOUND {
            return Err(never_stable(m));
        }
        Ok(())
    }
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
    let guard = m.lock_writer()?;
    m.not_destroyed()?;
    let published = &m.header().published.current;
    let current = published.load(Ordering::Acquire);
    if let Some(expected) = expected {
        if expected != current {
            return Err(conflict(expected, current));
        }
    }
    let version = current.checked_add(1).ok_or_else(|| corrupted_version(m))?;
    let (slot, dst) = m.slot(m.slot_of(version));
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
    unsafe { store_value(dst, data) };
    slot.len.store(data.len() as u64, Ordering::Relaxed);
    slot.version.store(version, Ordering::Relaxed);
    slot.seq.store(odd + 1, Ordering::Release);
    fail_point!("write.copied");
    published.store(version, Ordering::Release);
    fail_point!("write.published");
    drop(guard);
    Ok(version)
}

/// Copies a new value into its slot (in two halves in a test build, so a
/// crash point can stop the writer in the middle).
///
/// # Safety
/// `dst` must be a slot's data, with room for `data.len()` bytes.
#[inline]
unsafe fn store_value(dst: *mut u8, data: &[u8]) {
    #[cfg(feature = "failpoints")]
    {
        let half = data.len() / 2 / 32 * 32;
        // SAFETY: both halves lie inside the slot; `half` keeps the
        // second one aligned as the first.
        unsafe {
            atomic_copy::store_wide(dst, data.as_ptr(), half);
            fail_point!("write.copying");
            atomic_copy::store_wide(dst.add(half), data.as_ptr().add(half), data.len() - half);
        }
    }
    #[cfg(not(feature = "failpoints"))]
    // SAFETY: per the caller.
    unsafe {
        atomic_copy::store_wide(dst, data.as_ptr(), data.len())
    };
}

#[cold]
#[inline(never)]
fn corrupted_version(m: &Mapping) -> Error {
    Error::new(
        ErrorKind::Incompatible,
        format!(
            "segment {} is corrupted: its version can grow no further",
            m.name().as_str()
        ),
    )
}

/// Makes the published version one a slot holds, for a new owner alone
/// with the segment (no writer or reader can be inside it): a scribbled
/// published word would otherwise make every read give up and every write
/// refuse. The newest complete value a slot holds is published again, or,
/// if none is, the value starts empty.
pub fn repair(m: &Mapping) {
    let published = &m.header().published.current;
    let holds = |index: usize| {
        let (slot, _) = m.slot(index);
        let version = slot.version.load(Ordering::Relaxed);
        let complete = slot.seq.load(Ordering::Relaxed) & 1 == 0
            && slot.len.load(Ordering::Relaxed) <= m.geometry().capacity;
        (complete && m.slot_of(version) == index).then_some(version)
    };
    let current = published.load(Ordering::Relaxed);
    if holds(m.slot_of(current)) == Some(current) {
        return;
    }
    match (0..m.geometry().slots() as usize).filter_map(holds).max() {
        Some(newest) => published.store(newest, Ordering::Release),
        None => init_empty(m),
    }
}

/// Sets up a fresh segment's value: empty, version 0, in slot 0.
pub fn init_empty(m: &Mapping) {
    for index in 0..m.geometry().slots() as usize {
        let (slot, _) = m.slot(index);
        slot.seq.store(0, Ordering::Relaxed);
        slot.len.store(0, Ordering::Relaxed);
        slot.version.store(0, Ordering::Relaxed);
    }
    m.header().published.current.store(0, Ordering::Release);
}
