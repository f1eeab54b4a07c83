//! The futex, as the kernel gives it: FUTEX_WAIT compares the word and
//! goes to sleep in one step that no FUTEX_WAKE can come between (the
//! kernel holds the word's hash-bucket lock across both), and FUTEX_WAKE
//! wakes the threads asleep at that moment. Here the bucket lock is a
//! loom `Mutex` and the sleep a `Condvar`.
//!
//! A sleep never ends spuriously here, which is the strict model: a
//! protocol that relied on a spurious wake-up would deadlock, and loom
//! reports every deadlock. The library's sleeps also have timeouts; loom
//! has none, so a timed sleep is modelled by what its timeout is there
//! for: [`Futex::expire_timeouts`] stands for "every sleeper's timeout has
//! fired since", and the model calls it after each event that can leave a
//! sleeper with no one to wake it (a holder's death, a notifier's death, a
//! takeover's reset of the count of sleepers). A timeout at any other
//! moment only makes the sleeper check again what it checked before it
//! slept, a step the model already explores before the sleep.

use loom::sync::atomic::AtomicU32;
use loom::sync::{Condvar, Mutex, MutexGuard};
use std::sync::atomic::Ordering::SeqCst;

#[derive(Default)]
struct Bucket {
    /// FUTEX_WAKE calls so far: a sleeper wakes when this moves.
    wakes: u64,
    /// `expire_timeouts` calls so far.
    expiries: u64,
}

#[derive(Default)]
pub struct Futex {
    bucket: Mutex<Bucket>,
    changed: Condvar,
}

/// How a FUTEX_WAIT ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slept {
    /// The word did not hold the expected value (EAGAIN): no sleep.
    Refused,
    /// Woken by a FUTEX_WAKE.
    Woken,
    /// The timeout fired (or had already fired since the last sleep).
    TimedOut,
}

/// A timed sleeper's record of the expiries it has already woken for.
#[derive(Default)]
pub struct Timer {
    expiries: u64,
}

impl Futex {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Bucket> {
        self.bucket.lock().unwrap()
    }

    /// FUTEX_WAIT with no timeout: sleeps if `word` holds `expected`, until
    /// a later `wake_all`.
    pub fn wait(&self, word: &AtomicU32, expected: u32) -> Slept {
        let mut bucket = self.lock();
        if word.load(SeqCst) != expected {
            return Slept::Refused;
        }
        let asleep_at = bucket.wakes;
        while bucket.wakes == asleep_at {
            bucket = self.changed.wait(bucket).unwrap();
        }
        Slept::Woken
    }

    /// FUTEX_WAIT with a timeout: as `wait`, but the sleep also ends (or
    /// does not begin) once there has been an expiry this timer has not
    /// yet woken for.
    pub fn wait_timed(&self, word: &AtomicU32, expected: u32, timer: &mut Timer) -> Slept {
        let mut bucket = self.lock();
        let slept = if bucket.expiries != timer.expiries {
            Slept::TimedOut
        } else if word.load(SeqCst) != expected {
            Slept::Refused
        } else {
            let asleep_at = bucket.wakes;
            while bucket.wakes == asleep_at && bucket.expiries == timer.expiries {
                bucket = self.changed.wait(bucket).unwrap();
            }
            if bucket.wakes != asleep_at {
                Slept::Woken
            } else {
                Slept::TimedOut
            }
        };
        timer.expiries = bucket.expiries;
        slept
    }

    /// FUTEX_WAKE of every sleeper.
    pub fn wake_all(&self) {
        let mut bucket = self.lock();
        bucket.wakes += 1;
        self.changed.notify_all();
    }

    /// Every timed sleep begun before now ends: its timeout has fired.
    pub fn expire_timeouts(&self) {
        let mut bucket = self.lock();
        bucket.expiries += 1;
        self.changed.notify_all();
    }
}
