//! What a `shmiface_segment *` is: not an address but a token naming a slot
//! of a process-wide table, so that any pointer a caller passes can be
//! checked without reading memory through it. A destroyed handle, one
//! destroyed twice, a handle plus an offset, a small integer or a handle
//! copied into a child by `fork` is refused with `BAD_HANDLE`, never a crash.
//!
//! A handle's value, from the top bit down (64-bit; 32-bit in brackets):
//!
//! - bits 63..56 [31..28]: the tag `0x53` [`0x5`]. Small integers, -1 and
//!   real addresses (top byte 0x00 or 0xff on Linux) are never handles; the
//!   tag is never 0, so neither is a handle.
//! - bits 55..36 [27..12]: the slot index, 2^20 [2^16] slots: at most that
//!   many handles are live at once (one more is refused with `OS`).
//! - bits 35..0 [11..0]: the generation, unique per handle made (one
//!   process-wide counter, 0 skipped), so a stale handle, and a handle plus
//!   or minus any offset that leaves the slot index alone, finds another
//!   generation in its slot. Generations sit in the low bits for that:
//!   an offset reaches the index only through a carry out of them.
//!
//! The table is 256 [16] chunks of 4096 slots, and a slot holds its
//! segment in place. The first chunk is part of the table itself
//! (zero-initialised, in .bss, so it costs no memory until used), and it is
//! where a process with fewer than 4096 live handles keeps them all, freed
//! slots being reused first. The others are allocated the first time a slot
//! of theirs is needed. No chunk is ever freed, so a lookup reads only
//! memory that stays valid, and it takes no lock: decode, find the slot,
//! compare its generation and fork epoch. There is no pointer to follow
//! before the segment itself, so the check adds instructions to a call but
//! almost no latency (measured: about 1 ns per call; `lookup_cost` below
//! and `c.get0.shmiface` in bench/c/bench_ops.c). Making and destroying
//! handles (not hot) share a mutex for the free list, which runs through
//! the free slots themselves.
//!
//! A generation is the low 36 [12] bits of a 64-bit count of handles made:
//! a stale handle could match again only after 2^36 handles were made while
//! its slot was reused (on 32-bit targets, after 4096: the check there is a
//! best effort).
//!
//! Racing `shmiface_destroy` against other calls on the same handle stays
//! the caller's bug (the ABI's rule). What that race can and cannot do: a
//! call whose lookup starts after the destroy cleared the slot's generation
//! gets `BAD_HANDLE`, and the lookup itself never reads freed memory; but a
//! call that passed its lookup before that and is still running when the
//! destroy moves the segment out, releases it and unmaps it (or when a new
//! handle reuses the slot) is undefined behaviour, as it was before.
//! Closing that window needs every call to announce itself (a shared
//! counter or a hazard slot per thread), which costs the hot path more than
//! the lookup does.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr::{null_mut, without_provenance_mut};
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::types::shmiface_segment;
use crate::error::{Error, ErrorKind, Result};
use crate::forks;
use crate::segment::Segment;

const BITS: u32 = usize::BITS;
const TAG_BITS: u32 = if BITS == 64 { 8 } else { 4 };
const INDEX_BITS: u32 = if BITS == 64 { 20 } else { 16 };
const GEN_BITS: u32 = BITS - TAG_BITS - INDEX_BITS;
const TAG: usize = if BITS == 64 { 0x53 } else { 0x5 };
const GEN_MASK: usize = (1 << GEN_BITS) - 1;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
const CHUNK_BITS: u32 = 12;
const CHUNK_LEN: usize = 1 << CHUNK_BITS;
const CHUNKS: usize = 1 << (INDEX_BITS - CHUNK_BITS);
/// The most handles that can be live at once in one process.
const MAX_HANDLES: usize = 1 << INDEX_BITS;
/// A slot's `generation` word: `LIVE | generation` while its handle is
/// live, `FREE` otherwise. The bit is outside the generation field, so a
/// free slot matches no handle, not even one whose generation field is 0
/// (which no handle is made with).
const LIVE: usize = 1 << (BITS - 1);
const FREE: usize = 0;

static_assertions::const_assert!(TAG != 0 && TAG < (1 << TAG_BITS));
static_assertions::const_assert!(TAG != (1 << TAG_BITS) - 1);
static_assertions::const_assert_eq!(TAG_BITS + INDEX_BITS + GEN_BITS, usize::BITS);
static_assertions::const_assert!(LIVE > GEN_MASK);

/// One slot of the table (all zero when free, as the first chunk starts).
struct Entry<T> {
    /// `LIVE | generation` of the live handle of this slot, or `FREE`.
    /// Written (Release) after `value` and `epoch` when a handle is made;
    /// cleared (compare-and-swap) before `value` is moved out when it is
    /// destroyed.
    generation: AtomicUsize,
    /// The fork epoch the handle was made in.
    epoch: AtomicU32,
    /// While the slot is on the free list: the next free slot's index + 1
    /// (0: none). Read and written under `Table::slots` only.
    next_free: AtomicU32,
    /// The value of the live handle, in place: a lookup finds it with no
    /// pointer to follow. Initialised exactly while `generation` is live
    /// (and between the write and the publication in `insert`, and the
    /// clearing and the move in `remove`, which only their caller sees).
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: `value` is written only by the thread that reserved the slot
// before publishing it, and moved out only by the one thread whose
// compare-and-swap cleared it; between the two, threads share `&T`, which
// `T: Sync` allows, and the value may be dropped on another thread than it
// was made on, which `T: Send` allows.
unsafe impl<T: Send + Sync> Sync for Entry<T> {}

impl<T> Entry<T> {
    const fn free() -> Self {
        Entry {
            generation: AtomicUsize::new(FREE),
            epoch: AtomicU32::new(0),
            next_free: AtomicU32::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }
}

/// Which slots are free; guarded by `Table::slots`.
struct Slots {
    /// The index + 1 of the slot a destroy freed last, reused first (0: none).
    free_head: u32,
    /// The slots below this have been handed out at least once.
    high_water: usize,
}

/// A table of handles to values of `T` (the library has one, of segments;
/// the tests make their own).
pub(crate) struct Table<T> {
    /// Slots 0 to 4095.
    first: [Entry<T>; CHUNK_LEN],
    /// From the second on, each a leaked `Box<[Entry<T>]>` of `CHUNK_LEN`
    /// entries, or NULL until a slot of it is first needed; written under
    /// `slots`, never freed. (The first is `first`.)
    chunks: [AtomicPtr<Entry<T>>; CHUNKS],
    slots: Mutex<Slots>,
    /// Handles made so far; a generation is this count's low bits (0 skipped).
    made: AtomicU64,
    /// `Slots::high_water`, for telling why a handle is refused without the lock.
    used: AtomicUsize,
}

/// Why a pointer is not a live handle, worked out once a lookup failed.
enum Refusal {
    Foreign,
    Destroyed,
    StaleOrForeign,
    BeforeFork,
    Racing,
}

impl Refusal {
    fn reason(&self) -> &'static str {
        match self {
            Refusal::Foreign => "never made by this library",
            Refusal::Destroyed => "destroyed already (use after destroy, or a second destroy)",
            Refusal::StaleOrForeign => {
                "destroyed already (its slot now holds a newer handle), or never made by this library"
            }
            Refusal::BeforeFork => "made before fork in the parent process; attach again in the child",
            Refusal::Racing => "it was made or destroyed by another thread during this call",
        }
    }
}

impl<T> Table<T> {
    pub(crate) const fn new() -> Self {
        Table {
            first: [const { Entry::free() }; CHUNK_LEN],
            chunks: [const { AtomicPtr::new(null_mut()) }; CHUNKS],
            slots: Mutex::new(Slots {
                free_head: 0,
                high_water: 0,
            }),
            made: AtomicU64::new(0),
            used: AtomicUsize::new(0),
        }
    }

    /// The slot a handle's value names, if its tag is right and its chunk
    /// exists; reads no memory but the table's.
    #[inline(always)]
    fn entry(&self, value: usize) -> Option<&Entry<T>> {
        if value >> (BITS - TAG_BITS) != TAG {
            return None;
        }
        self.entry_at((value >> GEN_BITS) & INDEX_MASK)
    }

    /// Slot `index` (below `MAX_HANDLES`), if its chunk exists.
    #[inline(always)]
    fn entry_at(&self, index: usize) -> Option<&Entry<T>> {
        if index < CHUNK_LEN {
            return Some(&self.first[index]);
        }
        let chunk = self.chunks[index >> CHUNK_BITS].load(Ordering::Acquire);
        if chunk.is_null() {
            return None;
        }
        // SAFETY: a non-NULL chunk is a leaked `Box<[Entry<T>]>` of
        // `CHUNK_LEN` entries, published (Release) after it was filled and
        // never freed; the offset is below `CHUNK_LEN`.
        Some(unsafe { &*chunk.add(index & (CHUNK_LEN - 1)) })
    }

    /// The value of the live handle `handle`, or None for any other pointer
    /// (NULL included). Never reads memory through `handle`.
    ///
    /// # Safety
    /// The handle must not be removed (destroyed) while the reference is in
    /// use: the ABI's rule that destroy does not race other calls.
    #[inline(always)]
    pub(crate) unsafe fn get(&self, handle: *const shmiface_segment) -> Option<&T> {
        let value = handle.addr();
        let entry = self.entry(value)?;
        if entry.generation.load(Ordering::Acquire) != LIVE | (value & GEN_MASK)
            || entry.epoch.load(Ordering::Relaxed) != forks::epoch()
        {
            return None;
        }
        // SAFETY: the slot is live (its value was written before the
        // generation was published, which the Acquire load saw), and only
        // `remove` moves the value out, which the caller promises does not
        // run meanwhile.
        Some(unsafe { (*entry.value.get()).assume_init_ref() })
    }

    /// Makes a handle for the value `make` returns. The slot is reserved
    /// first, so a full table refuses before anything is made; `make` runs
    /// without the table's lock.
    pub(crate) fn insert(&self, make: impl FnOnce() -> Result<T>) -> Result<*mut shmiface_segment> {
        let index = self.reserve()?;
        let reserved = Reserved { table: self, index };
        let value = make()?;
        std::mem::forget(reserved);
        let entry = self
            .entry_at(index)
            .expect("reserve allocates the chunk of the slot it returns");
        // SAFETY: the slot is reserved for this call and not live, so no
        // other thread reads or writes its value.
        unsafe { (*entry.value.get()).write(value) };
        let generation = self.next_generation();
        entry.epoch.store(forks::epoch(), Ordering::Relaxed);
        entry.generation.store(LIVE | generation, Ordering::Release);
        let token = (TAG << (BITS - TAG_BITS)) | (index << GEN_BITS) | generation;
        Ok(without_provenance_mut(token))
    }

    /// Takes the value of the live handle `handle` out of the table: the
    /// handle is refused from the moment its generation is cleared, and the
    /// value is the caller's to drop. Any other pointer is refused
    /// (`BAD_HANDLE`, or `NULL_ARGUMENT` for NULL).
    pub(crate) fn remove(&self, handle: *mut shmiface_segment, what: &str) -> Result<T> {
        let value = handle.addr();
        let Some(entry) = self.entry(value) else {
            return Err(self.refuse(handle, what));
        };
        if entry.epoch.load(Ordering::Relaxed) != forks::epoch()
            || entry
                .generation
                .compare_exchange(
                    LIVE | (value & GEN_MASK),
                    FREE,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_err()
        {
            // (A handle of the parent stays in the child's copy of the
            // table, unused: destroying it there would act as its owner.)
            return Err(self.refuse(handle, what));
        }
        // SAFETY: the exchange above took the slot from live to free, which
        // happens once per handle, so the value is initialised and moved
        // out once; the slot is reused only after `release` below.
        let taken = unsafe { (*entry.value.get()).assume_init_read() };
        self.release((value >> GEN_BITS) & INDEX_MASK);
        Ok(taken)
    }

    /// The error for a pointer that is not a live handle.
    #[cold]
    #[inline(never)]
    pub(crate) fn refuse(&self, handle: *const shmiface_segment, what: &str) -> Error {
        if handle.is_null() {
            return Error::new(ErrorKind::NullArgument, format!("{what} is NULL"));
        }
        let value = handle.addr();
        Error::new(
            ErrorKind::BadHandle,
            format!(
                "{what} {value:#x} is not a live handle: {}",
                self.why(value).reason()
            ),
        )
    }

    fn why(&self, value: usize) -> Refusal {
        let Some(entry) = self.entry(value) else {
            return Refusal::Foreign;
        };
        let generation = value & GEN_MASK;
        let current = entry.generation.load(Ordering::Acquire);
        if current == LIVE | generation {
            return if entry.epoch.load(Ordering::Relaxed) != forks::epoch() {
                Refusal::BeforeFork
            } else {
                Refusal::Racing
            };
        }
        // Before the counter first wraps, a generation above it was never
        // made; nor was any handle of a slot never handed out.
        let made = self.made.load(Ordering::Relaxed);
        let index = (value >> GEN_BITS) & INDEX_MASK;
        if generation == 0
            || (made < GEN_MASK as u64 && generation as u64 > made)
            || index >= self.used.load(Ordering::Relaxed)
        {
            return Refusal::Foreign;
        }
        if current == FREE {
            Refusal::Destroyed
        } else {
            Refusal::StaleOrForeign
        }
    }

    fn next_generation(&self) -> usize {
        loop {
            let n = self.made.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            let generation = n as usize & GEN_MASK;
            if generation != 0 {
                return generation;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // Nothing panics while holding it, but a poisoned free list is still sound.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A free slot, its chunk allocated.
    fn reserve(&self) -> Result<usize> {
        let mut slots = self.lock();
        if slots.free_head != 0 {
            let index = slots.free_head as usize - 1;
            let entry = self.entry_at(index).expect("a freed slot's chunk exists");
            slots.free_head = entry.next_free.load(Ordering::Relaxed);
            return Ok(index);
        }
        let index = slots.high_water;
        if index >= MAX_HANDLES {
            return Err(Error::new(
                ErrorKind::Os,
                format!(
                    "too many live handles: this process holds {MAX_HANDLES}, the most \
                     the library can track (EMFILE); destroy some first"
                ),
            ));
        }
        let chunk = &self.chunks[index >> CHUNK_BITS];
        if index >= CHUNK_LEN && chunk.load(Ordering::Relaxed).is_null() {
            let entries: Box<[Entry<T>]> = (0..CHUNK_LEN).map(|_| Entry::free()).collect();
            chunk.store(Box::into_raw(entries).cast::<Entry<T>>(), Ordering::Release);
        }
        slots.high_water = index + 1;
        self.used.store(index + 1, Ordering::Relaxed);
        Ok(index)
    }

    /// Puts slot `index` (free again) at the head of the free list.
    fn release(&self, index: usize) {
        let mut slots = self.lock();
        let entry = self
            .entry_at(index)
            .expect("a reserved slot's chunk exists");
        entry.next_free.store(slots.free_head, Ordering::Relaxed);
        slots.free_head = index as u32 + 1;
    }
}

impl<T> Drop for Table<T> {
    // Only the tests' tables are dropped (a static never is).
    fn drop(&mut self) {
        fn drop_values<T>(entries: &mut [Entry<T>]) {
            for entry in entries {
                if *entry.generation.get_mut() & LIVE != 0 {
                    // SAFETY: a live slot's value is initialised, and
                    // `&mut` means no one else uses it.
                    unsafe { entry.value.get_mut().assume_init_drop() };
                }
            }
        }
        drop_values(&mut self.first);
        for chunk in &mut self.chunks {
            let chunk = *chunk.get_mut();
            if chunk.is_null() {
                continue;
            }
            let chunk = std::ptr::slice_from_raw_parts_mut(chunk, CHUNK_LEN);
            // SAFETY: a non-NULL chunk is a leaked `Box<[Entry<T>]>` of
            // `CHUNK_LEN` entries, and `&mut self` means no one else uses it.
            let mut entries = unsafe { Box::from_raw(chunk) };
            drop_values(&mut entries);
        }
    }
}

/// A reserved slot, handed back if making the value fails or panics.
struct Reserved<'a, T> {
    table: &'a Table<T>,
    index: usize,
}

impl<T> Drop for Reserved<'_, T> {
    fn drop(&mut self) {
        self.table.release(self.index);
    }
}

/// The handles of this process.
static SEGMENTS: Table<Segment> = Table::new();

/// A new handle for the segment `make` returns (a full table refuses
/// before it runs).
pub(crate) fn insert(make: impl FnOnce() -> Result<Segment>) -> Result<*mut shmiface_segment> {
    SEGMENTS.insert(make)
}

/// The segment of the live handle `seg`: `NULL_ARGUMENT` for NULL,
/// `BAD_HANDLE` for any other pointer that is not a live handle.
///
/// # Safety
/// `shmiface_destroy` of `seg` must not run while the reference is in use.
#[inline(always)]
pub(crate) unsafe fn lookup<'a>(seg: *const shmiface_segment, what: &str) -> Result<&'a Segment> {
    // SAFETY: per the caller.
    match unsafe { SEGMENTS.get(seg) } {
        Some(segment) => Ok(segment),
        None => Err(SEGMENTS.refuse(seg, what)),
    }
}

/// Takes the segment of the live handle `seg` out of the table (see `Table::remove`).
pub(crate) fn remove(seg: *mut shmiface_segment, what: &str) -> Result<Segment> {
    SEGMENTS.remove(seg, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bumping the fork epoch refuses every handle made before it, in every
    /// table: a test that makes handles holds this for reading, the fork
    /// test for writing. (The library's other unit tests make no handles.)
    static EPOCH: std::sync::RwLock<()> = std::sync::RwLock::new(());

    fn same_epoch() -> std::sync::RwLockReadGuard<'static, ()> {
        EPOCH.read().unwrap_or_else(|e| e.into_inner())
    }

    fn token(value: usize) -> *mut shmiface_segment {
        without_provenance_mut(value)
    }

    fn refused<T>(table: &Table<T>, handle: *const shmiface_segment) -> Option<String> {
        // SAFETY: nothing removes handles of `table` during the lookup.
        match unsafe { table.get(handle) } {
            Some(_) => None,
            None => Some(table.refuse(handle, "seg").detail().to_string()),
        }
    }

    #[test]
    fn a_live_handle_finds_its_value_and_a_destroyed_one_is_refused() {
        let _epoch = same_epoch();
        let table = Table::<String>::new();
        let a = table.insert(|| Ok("a".to_string())).unwrap();
        let b = table.insert(|| Ok("b".to_string())).unwrap();
        assert!(!a.is_null() && a != b);
        // SAFETY: no removal runs during these lookups.
        unsafe {
            assert_eq!(table.get(a).map(String::as_str), Some("a"));
            assert_eq!(table.get(b).map(String::as_str), Some("b"));
        }
        assert_eq!(table.remove(a, "seg").unwrap(), "a");
        let why = refused(&table, a).unwrap();
        assert!(why.contains("destroyed already"), "{why}");
        let e = table.remove(a, "seg").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadHandle);
        assert!(e.detail().contains("a second destroy"), "{}", e.detail());
        // The freed slot is reused by a handle of another value.
        let c = table.insert(|| Ok("c".to_string())).unwrap();
        assert_ne!(c, a);
        assert_eq!(c.addr() >> GEN_BITS, a.addr() >> GEN_BITS, "same slot");
        let why = refused(&table, a).unwrap();
        assert!(why.contains("newer handle"), "{why}");
        // SAFETY: as above.
        assert_eq!(unsafe { table.get(c) }.map(String::as_str), Some("c"));
        assert!(refused(&table, b).is_none());
    }

    #[test]
    fn no_pointer_near_a_handle_and_no_small_integer_is_one() {
        let _epoch = same_epoch();
        let table = Table::<u32>::new();
        let h = table.insert(|| Ok(7)).unwrap();
        let v = h.addr();
        for bad in [
            v + 8,
            v - 8,
            v + 1,
            v ^ (1 << 40),
            v + (1 << GEN_BITS),
            v + (CHUNK_LEN << GEN_BITS),
            v & !GEN_MASK, // generation 0
            5,
            0x1000,
            usize::MAX,
            0x7fff_ffff_f000,
            TAG << (BITS - TAG_BITS), // the tag alone: slot 0, generation 0
            (TAG << (BITS - TAG_BITS)) | (INDEX_MASK << GEN_BITS) | 1, // an unallocated chunk
        ] {
            let why = refused(&table, token(bad)).unwrap_or_else(|| panic!("{bad:#x} accepted"));
            assert!(
                why.starts_with(&format!("seg {bad:#x} is not a live handle: ")),
                "{why}"
            );
            assert!(table.remove(token(bad), "seg").is_err());
        }
        assert!(refused(&table, token(5))
            .unwrap()
            .contains("never made by this library"));
        assert!(refused(&table, token(v + 8))
            .unwrap()
            .contains("never made"));
        let null = table.refuse(std::ptr::null(), "seg");
        assert_eq!(null.kind(), ErrorKind::NullArgument);
        // SAFETY: as above.
        assert_eq!(unsafe { table.get(h) }, Some(&7));
    }

    #[test]
    fn a_handle_made_before_fork_is_refused_after_it() {
        let _alone = EPOCH.write().unwrap_or_else(|e| e.into_inner());
        let table = Table::<u32>::new();
        let before = table.insert(|| Ok(1)).unwrap();
        forks::bump();
        let why = refused(&table, before).unwrap();
        assert!(why.ends_with("made before fork in the parent process; attach again in the child"));
        let e = table.remove(before, "seg").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadHandle);
        assert!(e.detail().contains("before fork"));
        let after = table.insert(|| Ok(2)).unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { table.get(after) }, Some(&2));
        assert_eq!(table.remove(after, "seg").unwrap(), 2);
    }

    #[test]
    fn a_failed_make_gives_its_slot_back() {
        let _epoch = same_epoch();
        let table = Table::<u32>::new();
        let e = table
            .insert(|| Err(Error::new(ErrorKind::NotFound, "no")))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            table.insert(|| panic!("boom"))
        }));
        assert!(caught.is_err());
        // Both gave back the one slot they had.
        assert_eq!(table.lock().free_head, 1);
        assert_eq!(table.lock().high_water, 1);
        let h = table.insert(|| Ok(3)).unwrap();
        assert_eq!(table.lock().free_head, 0);
        assert_eq!(table.remove(h, "seg").unwrap(), 3);
    }

    #[test]
    #[cfg_attr(miri, ignore)] // a million slots
    fn a_full_table_refuses_a_new_handle_until_one_is_destroyed() {
        let _epoch = same_epoch();
        let table = Table::<()>::new();
        let handles: Vec<_> = (0..MAX_HANDLES)
            .map(|_| table.insert(|| Ok(())).unwrap())
            .collect();
        let e = table
            .insert(|| panic!("not made: the table is full"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Os);
        assert!(
            e.detail().contains("too many live handles"),
            "{}",
            e.detail()
        );
        table.remove(handles[12345], "seg").unwrap();
        let again = table.insert(|| Ok(())).unwrap();
        assert!(refused(&table, handles[12345]).is_some());
        assert!(refused(&table, again).is_none());
        for h in handles
            .into_iter()
            .filter(|&h| h.addr() >> GEN_BITS != again.addr() >> GEN_BITS)
        {
            table.remove(h, "seg").unwrap();
        }
    }

    #[test]
    fn lookups_on_other_threads_see_only_live_handles() {
        let _epoch = same_epoch();
        let table = Table::<usize>::new();
        // As addresses: raw pointers do not cross threads.
        let fixed: Vec<usize> = (0..64)
            .map(|i| table.insert(move || Ok(i)).unwrap().addr())
            .collect();
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for round in 0..2000 {
                        let i = round % fixed.len();
                        // SAFETY: the fixed handles are removed only after the threads end.
                        assert_eq!(unsafe { table.get(token(fixed[i])) }, Some(&i));
                    }
                });
            }
            s.spawn(|| {
                for round in 0..2000 {
                    let h = table.insert(move || Ok(round)).unwrap();
                    // SAFETY: this thread alone removes `h`, after the lookup.
                    assert_eq!(unsafe { table.get(h) }, Some(&round));
                    table.remove(h, "seg").unwrap();
                    assert!(refused(&table, h).is_some());
                }
            });
        });
        for h in fixed {
            table.remove(token(h), "seg").unwrap();
        }
    }

    /// `cargo test --release --lib -- --ignored --nocapture lookup_cost`:
    /// a lookup against following a plain pointer, as handles were before.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn lookup_cost() {
        let _epoch = same_epoch();
        let table = Table::<u64>::new();
        let handles: Vec<_> = (0..16)
            .map(|i| table.insert(move || Ok(i)).unwrap())
            .collect();
        let boxes: Vec<*const u64> = (0..16u64)
            .map(|i| Box::into_raw(Box::new(i)).cast_const())
            .collect();
        let n = 20_000_000u64;
        let time = |f: &dyn Fn(usize) -> u64| {
            let mut best = f64::MAX;
            for _ in 0..5 {
                let start = std::time::Instant::now();
                let mut sum = 0u64;
                for i in 0..n {
                    sum = sum.wrapping_add(f(std::hint::black_box((i & 15) as usize)));
                }
                std::hint::black_box(sum);
                best = best.min(start.elapsed().as_nanos() as f64 / n as f64);
            }
            best
        };
        // SAFETY: the boxes live until the end of the test.
        let plain = time(&|i| unsafe { *boxes[i] });
        // SAFETY: nothing removes these handles during the loop.
        let looked_up = time(&|i| unsafe { table.get(handles[i]) }.copied().unwrap_or(0));
        println!(
            "per call, best of 5: plain pointer {plain:.2} ns, handle lookup {looked_up:.2} ns, \
             difference {:.2} ns",
            looked_up - plain
        );
        for b in boxes {
            // SAFETY: made by Box::into_raw above, freed once.
            drop(unsafe { Box::from_raw(b.cast_mut()) });
        }
    }
}
