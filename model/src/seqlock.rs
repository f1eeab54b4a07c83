//! The value: `N` slots with a seqlock each, version `v` in slot `v % N`
//! (`N = history + 1`). The writer (`set`) and the two readers (`get`,
//! which wants the published version, and `next`, which wants the oldest
//! kept version after one it has seen) step for step as the library does
//! them, on loom's atomics so that loom explores every order in which
//! other threads may see each step.
//!
//! A value is two words standing for its bytes. Both hold the same tag,
//! naming the version and the writer that stored it, so a torn copy
//! shows as two different words, and the bytes of a writer that died
//! before publishing show as a tag no one published (the next writer
//! reuses that writer's version number, so the version alone would not
//! tell them apart).

use loom::sync::atomic::{fence, AtomicU64};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// The writer's steps, in order. A writer killed "after step k" has done
/// the first k of them; 0 is a writer killed before it did anything.
pub const WRITE_STEPS: [&str; 9] = [
    "load published",
    "load seq",
    "store seq odd",
    "release fence",
    "store data[0]",
    "store data[1]",
    "store version",
    "store seq even",
    "publish",
];
/// After step 5 half the bytes are stored: crash point `write.copying`.
pub const COPYING: usize = 5;
/// After step 8 the slot is complete and unpublished: `write.copied`.
pub const COPIED: usize = 8;
/// Every step done: `write.published` (the lock is still held).
pub const PUBLISHED: usize = WRITE_STEPS.len();

/// The tag a writer stores in both words of the value of `version`.
/// `writer` 0 is the segment's creator (the empty value, version 0).
pub fn tag(version: u64, writer: u64) -> u64 {
    (version << 8) | writer
}

/// The checks a reader makes before it keeps what it copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The design: the slot's sequence is even and did not move, and the
    /// slot holds the very version the reader chose.
    SeqAndVersion,
    /// The two-slot code (src/value.rs today): the sequence only; the
    /// version returned is the one the slot holds.
    SeqOnly,
    /// The sequence only, returning the version the reader chose without
    /// ever reading the slot's.
    SeqOnlyChosenVersion,
}

/// A reader gives up after this many attempts, and the models assert that
/// it never has to: a reader retries only when a writer overtook it, and
/// no model has more writers than this.
pub const ATTEMPTS: usize = 6;

pub struct Slot {
    pub seq: AtomicU64,
    pub version: AtomicU64,
    pub data: [AtomicU64; 2],
}

pub struct Value<const N: usize> {
    pub published: AtomicU64,
    pub slots: [Slot; N],
}

/// What the writers stored in the atomics they alone store: `published`
/// and each slot's `seq` (see `Value::write`).
pub struct Written<const N: usize> {
    pub published: u64,
    pub seq: [u64; N],
}

impl<const N: usize> Default for Written<N> {
    /// What `init_empty` stored.
    fn default() -> Self {
        Written {
            published: 0,
            seq: [0; N],
        }
    }
}

/// What a reader copied: the version it reports and the two words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Read {
    pub version: u64,
    pub words: [u64; 2],
}

/// Why a reader did not keep what it copied. `get` and `next` return the
/// retries they made, so that the tests can check that every kind happens
/// in some interleaving: the models are seen to reach the states the
/// checks are there for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Retry {
    /// The slot's sequence was odd: a writer was filling it.
    Odd,
    /// The slot held another version than the one chosen.
    Reused,
    /// The sequence moved during the copy.
    Moved,
}

/// What `next` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// The published version is not past `after`: `next` would wait.
    Nothing,
    Got {
        read: Read,
        /// Versions after `after` that `next` reports lost.
        lost: u64,
        /// The published version it chose from.
        chosen_from: u64,
    },
}

impl<const N: usize> Default for Value<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Value<N> {
    /// A fresh segment (`init_empty`): every slot even, version 0 and the
    /// empty value; version 0 published. Only slot 0 really holds version 0:
    /// the others' version 0 is not `index (mod N)`, so no reader takes it.
    pub fn new() -> Self {
        Value {
            published: AtomicU64::new(0),
            slots: std::array::from_fn(|_| Slot {
                seq: AtomicU64::new(0),
                version: AtomicU64::new(0),
                data: [AtomicU64::new(tag(0, 0)), AtomicU64::new(tag(0, 0))],
            }),
        }
    }

    fn index(version: u64) -> usize {
        (version % N as u64) as usize
    }

    fn slot(&self, version: u64) -> &Slot {
        &self.slots[Self::index(version)]
    }

    /// One `set` by `writer`, holding the writer lock, killed after `steps`
    /// of its steps (`PUBLISHED` or more: not killed). Returns the version
    /// it published, if it got that far.
    ///
    /// The writer's two loads (`published`, and its slot's `seq`) are taken
    /// from `mine`, the writers' own record of what they stored, not from
    /// the atomics: only writers store these, all writers of a model run in
    /// one thread, and a thread's load can return nothing older than its
    /// own last store, so the values are exactly those the loads would
    /// return. Loading them would hide races from loom: loom 0.7.3 keeps
    /// one last access per atomic, so a writer's own load between a
    /// reader's load and the writer's store makes loom miss that the two
    /// can be swapped (tokio-rs/loom#166, #392; see tests/loom_itself.rs),
    /// and it would then never run a reader after a publish.
    pub fn write(&self, mine: &mut Written<N>, writer: u64, steps: usize) -> Option<u64> {
        let mut left = steps;
        // Each step runs only if the writer is still alive to take it.
        let mut alive = || {
            let go = left > 0;
            left = left.saturating_sub(1);
            go
        };
        if !alive() {
            return None;
        }
        // published.load(Acquire)
        let version = mine.published + 1;
        let index = Self::index(version);
        let slot = &self.slots[index];
        if !alive() {
            return None;
        }
        // slot.seq.load(Relaxed). An odd sequence is a writer that died
        // mid-copy: step over it.
        let before = mine.seq[index];
        let odd = if before % 2 == 0 {
            before + 1
        } else {
            before + 2
        };
        if !alive() {
            return None;
        }
        slot.seq.store(odd, Relaxed);
        mine.seq[index] = odd;
        if !alive() {
            return None;
        }
        // Orders the odd sequence before every data store: a reader that
        // sees any of them and then fences sees the sequence moved.
        fence(Release);
        for word in &slot.data {
            if !alive() {
                return None;
            }
            word.store(tag(version, writer), Relaxed);
        }
        if !alive() {
            return None;
        }
        slot.version.store(version, Relaxed);
        if !alive() {
            return None;
        }
        slot.seq.store(odd + 1, Release);
        mine.seq[index] = odd + 1;
        if !alive() {
            return None;
        }
        self.published.store(version, Release);
        mine.published = version;
        Some(version)
    }

    /// Copies the slot of `version` if its sequence is even and stays so
    /// across the copy, and (with `SeqAndVersion`) it holds `version`.
    fn copy(&self, version: u64, check: Check) -> Result<Read, Retry> {
        let slot = self.slot(version);
        let seq = slot.seq.load(Acquire);
        if seq % 2 == 1 {
            return Err(Retry::Odd);
        }
        let held = match check {
            Check::SeqOnlyChosenVersion => version,
            Check::SeqAndVersion | Check::SeqOnly => slot.version.load(Relaxed),
        };
        if check == Check::SeqAndVersion && held != version {
            // Reused after we chose it: overtaken by a writer, or a
            // writer that died before publishing filled it.
            return Err(Retry::Reused);
        }
        let words = [slot.data[0].load(Relaxed), slot.data[1].load(Relaxed)];
        // Orders the copy before the re-read of the sequence: if any word
        // came from a later writer, that writer's odd sequence is seen.
        fence(Acquire);
        if slot.seq.load(Relaxed) != seq {
            return Err(Retry::Moved);
        }
        Ok(Read {
            version: held,
            words,
        })
    }

    /// `get`: the published value, or None if `ATTEMPTS` did not suffice.
    pub fn get(&self, check: Check) -> Option<(Read, Vec<Retry>)> {
        let mut retries = Vec::new();
        for _ in 0..ATTEMPTS {
            let version = self.published.load(Acquire);
            match self.copy(version, check) {
                Ok(read) => return Some((read, retries)),
                Err(why) => retries.push(why),
            }
            // loom's way of saying "spin": it runs the others before this
            // thread again, and a load after a yield sees a newer store
            // if there is one, so the retries stay few.
            loom::thread::yield_now();
        }
        None
    }

    /// `next` after version `after`: the oldest version past `after` that
    /// is still kept. Kept are `P - (N - 2) ..= P` for the published `P`:
    /// slot `(P + 1) % N`, which holds `P - (N - 1)`, may be being written.
    /// None if `ATTEMPTS` did not suffice.
    pub fn next(&self, after: u64) -> Option<(Next, Vec<Retry>)> {
        let mut retries = Vec::new();
        for _ in 0..ATTEMPTS {
            let chosen_from = self.published.load(Acquire);
            if chosen_from <= after {
                return Some((Next::Nothing, retries));
            }
            // saturating: while P < N - 2 every version is still kept.
            let want = (after + 1).max(chosen_from.saturating_sub(N as u64 - 2));
            match self.copy(want, Check::SeqAndVersion) {
                Ok(read) => {
                    let lost = want - after - 1;
                    return Some((
                        Next::Got {
                            read,
                            lost,
                            chosen_from,
                        },
                        retries,
                    ));
                }
                // Overwritten while we looked: choose again from a fresh P.
                Err(why) => retries.push(why),
            }
            loom::thread::yield_now();
        }
        None
    }
}
