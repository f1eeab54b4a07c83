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
use crate::events;
use crate::failpoints::fail_point;
use crate::mapping::Mapping;
use crate::sync::{atomic_copy, futex, writer_lock};

/// `next`'s "after" that asks for the current value, without waiting.
pub const LATEST: u64 = u64::MAX;

/// What `discard` leaves in a slot's version: no version is ever this.
pub const NO_VERSION: u64 = u64::MAX;

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
    let published = &m.header().published.current;
    let mut retries = Retries::new();
    loop {
        let version = published.load(Ordering::Acquire);
        if let Some(s) = read_version(m, version, dst.as_deref_mut())? {
            return Ok(s);
        }
        retries.again(m)?;
    }
}

/// Copies version `version` from its slot, if the slot holds it and no
/// writer touched it meanwhile (None: read again from a fresh choice).
#[inline]
fn read_version(m: &Mapping, version: u64, dst: Option<&mut [u8]>) -> Result<Option<Snapshot>> {
    let capacity = m.geometry().capacity as usize;
    let (slot, data) = m.slot(m.slot_of(version));
    fail_point!("read.picked");
    let seq = slot.seq.load(Ordering::Acquire);
    if seq & 1 == 1 || slot.version.load(Ordering::Relaxed) != version {
        return Ok(None);
    }
    let len = slot.len.load(Ordering::Relaxed);
    let fits_slot = len <= capacity as u64;
    let fits_dst = dst.as_ref().is_none_or(|d| len <= d.len() as u64);
    let dst_len = dst.as_ref().map_or(0, |d| d.len());
    if let Some(d) = dst {
        if fits_slot && fits_dst {
            // SAFETY: len <= capacity keeps the source inside the slot;
            // len <= d.len() keeps the destination inside `d`.
            unsafe { atomic_copy::load(d.as_mut_ptr(), data, len as usize) };
        }
    }
    fence(Ordering::Acquire);
    if slot.seq.load(Ordering::Relaxed) != seq {
        return Ok(None);
    }
    if !fits_slot {
        return Err(corrupted(m, len, capacity));
    }
    let len = len as usize;
    if !fits_dst {
        return Err(Error::buffer_too_small(len, dst_len));
    }
    Ok(Some(Snapshot { len, version }))
}

/// `next`'s answer to "after": the current value (LATEST), or the oldest
/// kept value newer than `after`, waiting up to `deadline` (None: for
/// ever) for one to be set.
pub fn next(
    m: &Mapping,
    after: u64,
    mut dst: Option<&mut [u8]>,
    timeout: Option<Duration>,
) -> Result<Snapshot> {
    if after == LATEST {
        return read(m, dst);
    }
    let deadline = timeout.map(|t| Instant::now().checked_add(t));
    let mut retries = Retries::new();
    loop {
        let version = match newer(m, after, deadline, timeout)? {
            Some(v) => v,
            None => continue,
        };
        if let Some(s) = read_version(m, version, dst.as_deref_mut())? {
            return Ok(s);
        }
        retries.again(m)?;
    }
}

/// The version `next` reads for `after`, once one exists: the oldest kept
/// version newer than `after`. Waits for a set when there is none; None
/// when it woke (the caller asks again).
fn newer(
    m: &Mapping,
    after: u64,
    deadline: Option<Option<Instant>>,
    timeout: Option<Duration>,
) -> Result<Option<u64>> {
    m.not_destroyed()?;
    let current = m.header().published.current.load(Ordering::Acquire);
    if current > after {
        let oldest = oldest_kept(m, current).max(1);
        return Ok(Some(after.saturating_add(1).max(oldest)));
    }
    // A deadline past what `Instant` can hold is no deadline at all.
    wait_for_set(m, current, deadline.flatten(), timeout)?;
    Ok(None)
}

/// The oldest version still readable when `current` is published (slots
/// hold `history + 1` versions, one of which the next writer fills).
pub fn oldest_kept(m: &Mapping, current: u64) -> u64 {
    current.saturating_sub(u64::from(m.geometry().history) - 1)
}

/// Blocks until a version other than `current` is published, the segment
/// is destroyed, or the deadline passes (`Timeout`). Spins first, as a
/// notification waiter does; sleeps on the published version's low half.
fn wait_for_set(
    m: &Mapping,
    current: u64,
    deadline: Option<Instant>,
    timeout: Option<Duration>,
) -> Result<()> {
    let published = &m.header().published.current;
    let remaining = match deadline {
        None => None,
        Some(d) => match d.checked_duration_since(Instant::now()) {
            Some(r) if !r.is_zero() => Some(r),
            _ => return Err(no_set(m, timeout)),
        },
    };
    // Counted with the notification waiters: `info().waiters` is every
    // thread waiting on the segment.
    let _waiting = m
        .writable()
        .then(|| events::Counted::new(&m.header().events.waiters));
    let budget = m.spin_hint().budget(events::spin_ns());
    if events::spin_until_changed(published, current, budget, deadline) {
        return Ok(());
    }
    let word = events::futex_word(published);
    let slice = if m.writable() {
        // Tell the writers someone sleeps (see `writer_lock`), then
        // re-check: either the next release wakes us, or we see its value.
        writer_lock::await_release(&m.header().lock.word);
        events::SLEEP_SLICE
    } else {
        events::READ_ONLY_POLL
    };
    if published.load(Ordering::SeqCst) == current && !m.is_destroyed() {
        let slice = remaining.map_or(slice, |r| r.min(slice));
        // SAFETY: the word lives in the mapping, alive for this call.
        unsafe { futex::wait(word, current as u32, Some(slice)) };
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn no_set(m: &Mapping, timeout: Option<Duration>) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!(
            "no new value in {} within {} ms",
            m.name().as_str(),
            timeout.unwrap_or_default().as_millis()
        ),
    )
}

/// A value read in place: `len` bytes at `data`, in the mapping.
#[derive(Clone, Copy, Debug)]
pub struct Borrowed {
    pub data: *const u8,
    pub len: usize,
    pub version: u64,
}

/// Chooses a value by the rule of [`next`] and points at it instead of
/// copying it. Nothing is locked: [`release`] says afterwards whether a
/// writer overwrote it meanwhile.
pub fn borrow(m: &Mapping, after: u64, timeout: Option<Duration>) -> Result<Borrowed> {
    let deadline = timeout.map(|t| Instant::now().checked_add(t));
    let published = &m.header().published.current;
    let mut retries = Retries::new();
    loop {
        let version = if after == LATEST {
            m.not_destroyed()?;
            published.load(Ordering::Acquire)
        } else {
            match newer(m, after, deadline, timeout)? {
                Some(v) => v,
                None => continue,
            }
        };
        // The length and version, checked like a copy.
        if let Some(s) = read_version(m, version, None)? {
            let (_, data) = m.slot(m.slot_of(version));
            return Ok(Borrowed {
                data,
                len: s.len,
                version,
            });
        }
        retries.again(m)?;
    }
}

/// Whether a borrowed version is still intact: its slot still holds it
/// and no writer has begun to overwrite it. Every byte read through the
/// borrow before this call belonged to that version exactly when it says
/// so (`Overwritten` otherwise).
pub fn release(m: &Mapping, version: u64) -> Result<()> {
    fence(Ordering::Acquire);
    let (slot, _) = m.slot(m.slot_of(version));
    let intact = slot.seq.load(Ordering::Relaxed) & 1 == 0
        && slot.version.load(Ordering::Relaxed) == version;
    if intact {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Overwritten,
            format!(
                "version {version} of {} was overwritten while it was borrowed",
                m.name().as_str()
            ),
        ))
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
pub(crate) fn too_large(m: &Mapping, len: usize, capacity: u64) -> Error {
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

/// A writer's claim on the slot of the next version, under the writer
/// lock: its bytes may be filled at `data` (capacity bytes), then
/// [`finish`] publishes them or [`abandon`] gives them up.
pub struct Claim {
    guard: writer_lock::Guard,
    pub version: u64,
    slot: usize,
    odd: u64,
    pub data: *mut u8,
}

/// Takes the writer lock and the next version's slot, if `expected` is
/// None or the current version.
#[inline]
pub fn claim(m: &Mapping, expected: Option<u64>) -> Result<Claim> {
    m.writable_or_err("setting the value")?;
    m.not_destroyed()?;
    let guard = m.lock_writer()?;
    m.not_destroyed()?;
    let current = m.header().published.current.load(Ordering::Acquire);
    if let Some(expected) = expected {
        if expected != current {
            return Err(conflict(expected, current));
        }
    }
    let version = current.checked_add(1).ok_or_else(|| corrupted_version(m))?;
    let slot = m.slot_of(version);
    let (header, data) = m.slot(slot);
    // An odd sequence here is a writer that died mid-copy: step over it.
    let before = header.seq.load(Ordering::Relaxed);
    let odd = if before & 1 == 0 {
        before + 1
    } else {
        before + 2
    };
    header.seq.store(odd, Ordering::Relaxed);
    fence(Ordering::Release);
    Ok(Claim {
        guard,
        version,
        slot,
        odd,
        data,
    })
}

/// Publishes the first `len` bytes of a claimed slot as the new value,
/// and releases the lock. Returns the new version.
#[inline]
pub fn finish(m: &Mapping, claim: Claim, len: usize) -> u64 {
    let (slot, _) = m.slot(claim.slot);
    slot.len.store(len as u64, Ordering::Relaxed);
    slot.version.store(claim.version, Ordering::Relaxed);
    slot.seq.store(claim.odd + 1, Ordering::Release);
    fail_point!("write.copied");
    m.header()
        .published
        .current
        .store(claim.version, Ordering::Release);
    fail_point!("write.published");
    drop(claim.guard);
    claim.version
}

/// Gives a claimed slot up: it holds no version any more (its old one was
/// already past the kept history), and nothing is published.
pub fn abandon(m: &Mapping, claim: Claim) {
    let (slot, _) = m.slot(claim.slot);
    slot.version.store(NO_VERSION, Ordering::Relaxed);
    slot.seq.store(claim.odd + 1, Ordering::Release);
    drop(claim.guard);
}

/// Replaces the value, if `expected` is None or equals the current version.
/// Returns the new version.
#[inline]
pub fn write(m: &Mapping, data: &[u8], expected: Option<u64>) -> Result<u64> {
    let capacity = m.geometry().capacity;
    if data.len() as u64 > capacity {
        m.writable_or_err("setting the value")?;
        return Err(too_large(m, data.len(), capacity));
    }
    let claim = claim(m, expected)?;
    // SAFETY: data.len() <= capacity keeps the copy inside the slot.
    unsafe { store_value(claim.data, data) };
    Ok(finish(m, claim, data.len()))
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
        (complete && version != NO_VERSION && m.slot_of(version) == index).then_some(version)
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
