//! Wait and notify: a notification count that is also the futex word, and
//! a count of sleepers so that `notify` makes the wake-up call only when
//! someone sleeps (src/events.rs: `notify`, and `wait` after its spin).
//!
//! The protocol's claim: either the notifier's load of `sleepers` sees
//! the waiter counted, or the waiter's re-check (and the futex's own
//! compare) sees the new count. Both sides use SeqCst so that the two
//! store-then-load pairs cannot both miss.

use loom::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

use crate::futex::{Futex, Slept, Timer};

pub struct Events {
    pub seq: AtomicU32,
    pub sleepers: AtomicU32,
    pub futex: Futex,
}

/// How `notify` goes about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// The design: count, then (SeqCst) look for sleepers.
    CountThenCheck,
    /// Look for sleepers (Relaxed) before counting: a waiter can count
    /// itself and sleep in between.
    CheckThenCount,
    /// Count, then look for sleepers with a Relaxed load: the load may
    /// miss a waiter's increment that the waiter's re-check ordered
    /// before its own load (store buffering), on a weak memory model.
    CountThenRelaxedCheck,
    /// Count, and die before waking anyone (crash point `notify.counted`).
    KilledAfterCounting,
}

/// How `wait` goes about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// Re-check the count after announcing the sleep (the library does;
    /// the futex compares it again anyway).
    pub recheck: bool,
    /// Decrement `sleepers` saturating (never below 0), or plainly.
    pub saturating: bool,
    /// Sleep with a timeout, or (strict) until woken.
    pub timed: bool,
}

impl Wait {
    /// The design: re-check, saturating decrement, timed sleeps.
    pub const DESIGN: Wait = Wait {
        recheck: true,
        saturating: true,
        timed: true,
    };
    /// The design with strict sleeps: a wake-up it needs must really come.
    pub const STRICT: Wait = Wait {
        timed: false,
        ..Wait::DESIGN
    };
}

/// What a waiter went through, for the tests to check that every path
/// was taken in some interleaving.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Saw the count move at the top of the loop.
    Saw,
    /// Counted itself a sleeper and saw the count move on re-checking.
    Rechecked,
    /// Went to sleep (or not) in the futex.
    Futex(Slept),
}

/// What `wait` returns: the count it saw, and how it got there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waited {
    pub seq: u32,
    pub steps: Vec<Step>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    pub fn new() -> Self {
        let events = Events {
            seq: AtomicU32::new(0),
            sleepers: AtomicU32::new(0),
            futex: Futex::new(),
        };
        // loom treats a SeqCst load as an Acquire one, except that it will
        // not read a SeqCst store older than another SeqCst store; the
        // initial values are not SeqCst stores, so they are stored again:
        // without this loom lets both sides miss each other, which SeqCst
        // forbids (a false deadlock, tokio-rs/loom#180).
        events.seq.store(0, SeqCst);
        events.sleepers.store(0, SeqCst);
        events
    }

    pub fn notify(&self, how: Notify) {
        match how {
            Notify::CountThenCheck => {
                self.seq.fetch_add(1, SeqCst);
                if self.sleepers.load(SeqCst) != 0 {
                    self.futex.wake_all();
                }
            }
            Notify::CheckThenCount => {
                let sleepers = self.sleepers.load(Relaxed);
                self.seq.fetch_add(1, SeqCst);
                if sleepers != 0 {
                    self.futex.wake_all();
                }
            }
            Notify::CountThenRelaxedCheck => {
                self.seq.fetch_add(1, SeqCst);
                if self.sleepers.load(Relaxed) != 0 {
                    self.futex.wake_all();
                }
            }
            Notify::KilledAfterCounting => {
                self.seq.fetch_add(1, SeqCst);
                // The notifier is dead: its sleepers' timeouts are what
                // wakes them now.
                self.futex.expire_timeouts();
            }
        }
    }

    /// Waits until the count differs from `seen` and returns it (the spin
    /// before the first sleep is left out: it only delays the same checks).
    pub fn wait(&self, seen: u32, how: Wait) -> Waited {
        let mut timer = Timer::default();
        let mut steps = Vec::new();
        loop {
            let seq = self.seq.load(SeqCst);
            if seq != seen {
                steps.push(Step::Saw);
                return Waited { seq, steps };
            }
            self.sleepers.fetch_add(1, SeqCst);
            if how.recheck && self.seq.load(SeqCst) != seq {
                steps.push(Step::Rechecked);
            } else {
                steps.push(Step::Futex(if how.timed {
                    self.futex.wait_timed(&self.seq, seq, &mut timer)
                } else {
                    self.futex.wait(&self.seq, seq)
                }));
            }
            if how.saturating {
                let _ = self
                    .sleepers
                    .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1));
            } else {
                let before = self.sleepers.fetch_sub(1, SeqCst);
                // Where the count would wrap, the model says so.
                assert_ne!(before, 0, "the count of sleepers wrapped");
            }
        }
    }

    /// A new owner's takeover of a segment it believes no one else maps:
    /// it starts the count of sleepers afresh (src/segment.rs,
    /// `take_over_in_place`). A sleeper it did not know of may now go
    /// unwoken until its timeout, which this model then lets fire.
    pub fn take_over(&self) {
        self.sleepers.store(0, SeqCst);
        self.futex.expire_timeouts();
    }

    /// The takeover with no timeouts to rely on.
    pub fn take_over_strict(&self) {
        self.sleepers.store(0, SeqCst);
    }
}
