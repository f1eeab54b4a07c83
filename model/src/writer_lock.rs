//! The writer lock the library is moving to: one 32-bit word naming its
//! holder. 0 is free; else `token | CONTENDED`, where `token` (1..2^31)
//! names the holder's registration and CONTENDED says someone may sleep
//! on the word. `alive[token]` stands for "the kernel reports that
//! registration's lock held": it turns false when the holder's process
//! dies, and a contender that sees it false steals the lock.
//!
//! Contenders sleep with a timeout so that they look at the holder's
//! liveness again, since no one wakes them when a holder dies. In the
//! model the death itself fires every sleeper's timeout
//! ([`Futex::expire_timeouts`]): a sleep that began before the death ends
//! after it, and a contender that had not noticed the death sleeps at
//! most until it has. That is exactly what the timeout guarantees, and it
//! keeps every run finite; a timeout with no death since only repeats
//! checks the model explores anyway.

use loom::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::atomic::Ordering::{self, Acquire, Relaxed, Release};

use crate::futex::{Futex, Slept, Timer};

pub const CONTENDED: u32 = 1 << 31;

/// What a lock or unlock went through, for the tests to check that every
/// path was taken in some interleaving.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// The uncontended compare-and-swap took the lock.
    Fast,
    /// The slow path found the word 0 and took it.
    TookFree,
    /// The slow path took it from a dead holder.
    Stole,
    /// A compare-and-swap of the slow path failed: the word moved.
    Raced,
    /// This contender set CONTENDED.
    MarkedContended,
    /// Went to sleep (or not) on the word.
    Futex(Slept),
    /// The uncontended unlock: one compare-and-swap.
    UnlockedFast,
    /// The contended unlock: swap to 0 and wake.
    UnlockedWaking,
    /// The unlock found the word naming another holder, and left it.
    NotMine,
}

/// The protocol as designed, or with one known flaw, which loom must find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flaw {
    None,
    /// A contender sleeps without setting CONTENDED: the holder's
    /// uncontended unlock then wakes no one.
    SleepsUnmarked,
    /// A contender steals without asking whether the holder lives.
    StealsFromTheLiving,
}

/// A lock acquired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acquired {
    /// Taken over from a holder that died holding it.
    pub recovered: bool,
    pub steps: Vec<Step>,
}

/// Where a holder may be killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unlock {
    /// Not killed: releases the lock in full.
    Completely,
    /// Killed in the contended unlock after the swap to 0 and before the
    /// wake-up: the lock is free, and its sleepers are not woken.
    DyingBeforeTheWake,
}

/// How the lock's own loads of the word are made.
///
/// loom 0.7.3 keeps one last access per atomic, so when a thread loads the
/// word and then compare-and-swaps it, its own load hides from loom the
/// race between another thread's earlier load and that compare-and-swap
/// (tokio-rs/loom#166, #392; see tests/loom_itself.rs), and loom never
/// runs the two the other way round. Every contender here loads and then
/// swaps, so each model runs twice: with plain loads, where loom explores
/// the stale values a load may return but misses some interleavings, and
/// with each load made a read-modify-write that changes nothing, which
/// reads the newest value only but whose races loom sees (the futex's
/// own compare stays a load in both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    Plain,
    Newest,
}

pub struct Lock<const K: usize> {
    pub flaw: Flaw,
    pub reads: Reads,
    pub word: AtomicU32,
    /// Indexed by token; token 0 is never used.
    pub alive: [AtomicBool; K],
    pub futex: Futex,
}

/// A compare-and-swap lost to another thread: go round again, after
/// loom's way of spinning (it runs the others first, and a load after a
/// yield sees a newer store if there is one, so the retries stay few).
fn raced(steps: &mut Vec<Step>) {
    steps.push(Step::Raced);
    loom::thread::yield_now();
}

impl<const K: usize> Lock<K> {
    pub fn new(flaw: Flaw, reads: Reads) -> Self {
        Lock {
            flaw,
            reads,
            word: AtomicU32::new(0),
            alive: std::array::from_fn(|_| AtomicBool::new(true)),
            futex: Futex::new(),
        }
    }

    fn load(&self, order: Ordering) -> u32 {
        match self.reads {
            Reads::Plain => self.word.load(order),
            Reads::Newest => self.word.fetch_or(0, order),
        }
    }

    fn alive(&self, token: u32) -> bool {
        self.flaw != Flaw::StealsFromTheLiving && self.alive[token as usize].load(Acquire)
    }

    /// Takes the lock as `me`.
    pub fn lock(&self, me: u32) -> Acquired {
        let mut steps = Vec::new();
        if self.word.compare_exchange(0, me, Acquire, Relaxed).is_ok() {
            steps.push(Step::Fast);
            return Acquired {
                recovered: false,
                steps,
            };
        }
        let mut timer = Timer::default();
        let take = |recovered, mut steps: Vec<Step>, step| {
            steps.push(step);
            Acquired { recovered, steps }
        };
        loop {
            let cur = self.load(Acquire);
            if cur == 0 {
                // Taken marked contended: others may sleep (this one may
                // have), so the unlock must wake them.
                if self
                    .word
                    .compare_exchange(0, me | CONTENDED, Acquire, Relaxed)
                    .is_ok()
                {
                    return take(false, steps, Step::TookFree);
                }
                raced(&mut steps);
                continue;
            }
            let holder = cur & !CONTENDED;
            if holder != me && !self.alive(holder) {
                if self
                    .word
                    .compare_exchange(cur, me | CONTENDED, Acquire, Relaxed)
                    .is_ok()
                {
                    return take(true, steps, Step::Stole);
                }
                raced(&mut steps);
                continue;
            }
            if cur & CONTENDED == 0 && self.flaw != Flaw::SleepsUnmarked {
                if self
                    .word
                    .compare_exchange(cur, cur | CONTENDED, Relaxed, Relaxed)
                    .is_err()
                {
                    raced(&mut steps);
                    continue;
                }
                steps.push(Step::MarkedContended);
            }
            let expected = match self.flaw {
                Flaw::SleepsUnmarked => cur,
                _ => cur | CONTENDED,
            };
            steps.push(Step::Futex(
                self.futex.wait_timed(&self.word, expected, &mut timer),
            ));
        }
    }

    /// Releases the lock held as `me`; with `DyingBeforeTheWake`, dies
    /// as soon as the word is released.
    pub fn unlock(&self, me: u32, how: Unlock) -> Step {
        let dies = how == Unlock::DyingBeforeTheWake;
        if self.word.compare_exchange(me, 0, Release, Relaxed).is_ok() {
            if dies {
                self.die(me);
            }
            return Step::UnlockedFast;
        }
        let cur = self.load(Relaxed);
        if cur & !CONTENDED != me {
            // Stolen, or scribbled on: never release another holder's lock.
            return Step::NotMine;
        }
        self.word.swap(0, Release);
        if dies {
            self.die(me);
        } else {
            self.futex.wake_all();
        }
        Step::UnlockedWaking
    }

    /// The process of `me` dies: the kernel drops its registration's lock,
    /// and every sleeper's timeout fires some time after.
    pub fn die(&self, me: u32) {
        self.alive[me as usize].store(false, Release);
        self.futex.expire_timeouts();
    }
}
