//! Notifications: a 64-bit sequence (notifications << 1 | destroyed) whose
//! low half is the futex word. `notify` bumps it and makes the wake-up
//! syscall only when a waiter sleeps; `wait` spins for a bounded budget
//! first (a spinning waiter sees a change in about 0.1 µs, a sleeping one
//! takes 5-60 µs to wake on a virtual machine) and then sleeps, so an idle
//! waiter uses no CPU beyond a re-check every `SLEEP_SLICE`.
//!
//! The wait is adaptive in two ways. The budget each wait spins is learnt
//! per segment and process (`SpinHint`): notifications that keep coming
//! after the budget shrink it, so a waiter on a slow, steady stream stops
//! burning CPU; one that came soon after the waiter fell asleep grows it
//! back. And after `SPIN_BEFORE_YIELD` of spinning the waiter yields its
//! CPU between checks, because with more runnable threads than cores the
//! notifier may be waiting for that very CPU.

use std::sync::atomic::{
    AtomicU32, AtomicU64,
    Ordering::{Relaxed, SeqCst},
};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::failpoints::fail_point;
use crate::layout::{SEQ_DESTROYED, SEQ_NOTIFY_STEP};
use crate::mapping::Mapping;
use crate::sync::futex;

/// Default spin budget before a waiter sleeps.
pub const DEFAULT_SPIN_NS: u64 = 50_000;
/// The longest a waiter on a read-only handle sleeps before re-checking: it
/// cannot announce itself as a sleeper, so a notifier may skip the wake-up.
pub const READ_ONLY_POLL: Duration = Duration::from_millis(10);
/// The longest any other waiter sleeps before re-checking the count. A
/// notifier killed between counting a notification and waking the sleepers
/// would otherwise leave them asleep until the next notification; with
/// this, they see it within one slice (an idle waiter wakes 4 times a
/// second, for a few microseconds).
pub const SLEEP_SLICE: Duration = Duration::from_millis(250);

/// Spinning this long without yielding covers a notifier on another core
/// (it answers within a few microseconds); past it, yield between checks.
const SPIN_BEFORE_YIELD: Duration = Duration::from_micros(5);
/// The learnt budget never goes below this (unless the process budget does).
pub const MIN_SPIN_NS: u64 = 2_000;

const UNSET: u64 = u64::MAX;
static SPIN_NS: AtomicU64 = AtomicU64::new(UNSET);

/// The process-wide spin budget: `SHMIFACE_SPIN_NS` from the environment
/// on first use, or [`DEFAULT_SPIN_NS`], until [`set_spin_ns`] changes it.
pub fn spin_ns() -> u64 {
    match SPIN_NS.load(SeqCst) {
        UNSET => {
            let from_env = std::env::var("SHMIFACE_SPIN_NS")
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|&v| v != UNSET)
                .unwrap_or(DEFAULT_SPIN_NS);
            let _ = SPIN_NS.compare_exchange(UNSET, from_env, SeqCst, SeqCst);
            SPIN_NS.load(SeqCst)
        }
        ns => ns,
    }
}

/// Sets the spin budget for every later wait in this process (0: never spin).
pub fn set_spin_ns(ns: u64) {
    SPIN_NS.store(ns.min(UNSET - 1), SeqCst);
}

/// The futex word of a 64-bit counter: its low half.
pub(crate) fn futex_word(seq: &AtomicU64) -> *const AtomicU32 {
    let base = seq as *const AtomicU64 as *const AtomicU32;
    if cfg!(target_endian = "little") {
        base
    } else {
        base.wrapping_add(1)
    }
}

/// The number of notifications so far.
pub fn count(m: &Mapping) -> u64 {
    m.header().events.seq.load(SeqCst) >> 1
}

/// Wakes every waiter without changing the value.
pub fn notify(m: &Mapping) -> Result<()> {
    m.writable_or_err("notifying")?;
    m.not_destroyed()?;
    let events = &m.header().events;
    events.seq.fetch_add(SEQ_NOTIFY_STEP, SeqCst);
    fail_point!("notify.counted");
    // SeqCst on both sides (here and in `wait`) means: either this load sees
    // the sleeper, or the sleeper's re-check sees the new sequence.
    if events.sleepers.load(SeqCst) != 0 {
        // SAFETY: the word lives in the mapping, alive for this call.
        unsafe { futex::wake_all(futex_word(&events.seq)) };
    }
    Ok(())
}

/// Marks the segment destroyed and wakes every waiter, sleeping or not.
pub fn mark_destroyed(m: &Mapping) {
    let events = &m.header().events;
    events.seq.fetch_or(SEQ_DESTROYED, SeqCst);
    // SAFETY: as in `notify`; readers waiting for a value sleep on the
    // published version's word.
    unsafe {
        futex::wake_all(futex_word(&events.seq));
        futex::wake_all(futex_word(&m.header().published.current));
    }
}

/// Counts the calling thread in a shared counter while it lives.
pub(crate) struct Counted<'a>(&'a AtomicU32);

impl<'a> Counted<'a> {
    pub(crate) fn new(counter: &'a AtomicU32) -> Self {
        counter.fetch_add(1, SeqCst);
        Counted(counter)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        // Never below zero: a count reset under a live waiter (or scribbled
        // by a peer) must not wrap to 4294967295.
        let _ = self.0.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1));
    }
}

/// Blocks until the notification count differs from `*seen`, then stores
/// it there. `timeout` None waits forever; zero polls.
pub fn wait(m: &Mapping, seen: &mut u64, timeout: Option<Duration>) -> Result<()> {
    let start = Instant::now();
    // A deadline past what `Instant` can hold is no deadline at all.
    let deadline = timeout.and_then(|t| start.checked_add(t));
    let events = &m.header().events;
    let _waiting = m.writable().then(|| Counted::new(&events.waiters));
    let max_spin = spin_ns();
    let mut spun = false;
    let mut slept = false;
    loop {
        let seq = events.seq.load(SeqCst);
        if seq & SEQ_DESTROYED != 0 {
            m.not_destroyed()?;
        }
        if seq >> 1 != *seen {
            *seen = seq >> 1;
            if slept {
                m.spin_hint().after_sleep(Some(start.elapsed()), max_spin);
            }
            return Ok(());
        }
        let remaining = match deadline {
            None => None,
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(r) if !r.is_zero() => Some(r),
                _ => {
                    if slept {
                        m.spin_hint().after_sleep(None, max_spin);
                    }
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "no notification on {} within {} ms",
                            m.name().as_str(),
                            timeout.unwrap_or_default().as_millis()
                        ),
                    ));
                }
            },
        };
        if !spun {
            spun = true;
            let budget = m.spin_hint().budget(max_spin);
            if spin_until_changed(&events.seq, seq, budget, deadline) {
                continue;
            }
            slept = true;
        }
        let word = futex_word(&events.seq);
        if m.writable() {
            let _sleeping = Counted::new(&events.sleepers);
            if events.seq.load(SeqCst) == seq {
                let slice = remaining.map_or(SLEEP_SLICE, |r| r.min(SLEEP_SLICE));
                // SAFETY: the word lives in the mapping, alive for this call.
                unsafe { futex::wait(word, seq as u32, Some(slice)) };
            }
        } else {
            let slice = remaining.map_or(READ_ONLY_POLL, |r| r.min(READ_ONLY_POLL));
            // SAFETY: as above.
            unsafe { futex::wait(word, seq as u32, Some(slice)) };
        }
    }
}

/// Spins until `seq` moves away from `from` (true) or the budget or the
/// deadline runs out (false).
pub(crate) fn spin_until_changed(
    seq: &AtomicU64,
    from: u64,
    budget_ns: u64,
    deadline: Option<Instant>,
) -> bool {
    if budget_ns == 0 {
        return false;
    }
    let start = Instant::now();
    let budget = Duration::from_nanos(budget_ns);
    loop {
        for _ in 0..64 {
            if seq.load(std::sync::atomic::Ordering::Relaxed) != from {
                return true;
            }
            std::hint::spin_loop();
        }
        let now = Instant::now();
        let spun = now.duration_since(start);
        if spun >= budget || deadline.is_some_and(|d| now >= d) {
            return false;
        }
        if spun >= SPIN_BEFORE_YIELD {
            std::thread::yield_now();
        }
    }
}

/// The spin budget learnt for one segment in one process, in ns; it is
/// always capped by the process budget ([`spin_ns`]), which it starts at.
pub struct SpinHint(AtomicU64);

impl SpinHint {
    pub fn new() -> Self {
        SpinHint(AtomicU64::new(UNSET))
    }

    /// The budget for the next wait.
    pub fn budget(&self, max_ns: u64) -> u64 {
        self.0.load(Relaxed).min(max_ns)
    }

    /// Learns from a wait that spun its whole budget and then slept:
    /// `waited` is how long the notification took from the start of the
    /// wait, None if none came.
    pub fn after_sleep(&self, waited: Option<Duration>, max_ns: u64) {
        let next = next_budget(self.budget(max_ns), waited, max_ns);
        self.0.store(next, Relaxed);
    }
}

impl Default for SpinHint {
    fn default() -> Self {
        Self::new()
    }
}

/// A notification that came within the process budget would have been
/// caught by a longer spin: grow to twice its delay. One that came later,
/// or never, could not have been: halve, down to [`MIN_SPIN_NS`].
fn next_budget(current: u64, waited: Option<Duration>, max_ns: u64) -> u64 {
    let floor = MIN_SPIN_NS.min(max_ns);
    match waited.map(|w| u64::try_from(w.as_nanos()).unwrap_or(u64::MAX)) {
        Some(w) if w <= max_ns => current
            .saturating_mul(2)
            .max(w.saturating_mul(2))
            .clamp(floor, max_ns),
        _ => (current / 2).clamp(floor, max_ns),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 50_000;

    #[test]
    fn a_slow_stream_shrinks_the_budget_to_the_floor() {
        let mut b = MAX;
        for _ in 0..20 {
            b = next_budget(b, Some(Duration::from_millis(1)), MAX);
        }
        assert_eq!(b, MIN_SPIN_NS);
        assert_eq!(next_budget(MAX, None, MAX), MAX / 2);
    }

    #[test]
    fn a_notification_just_missed_grows_the_budget() {
        assert_eq!(
            next_budget(MIN_SPIN_NS, Some(Duration::from_micros(9)), MAX),
            18_000
        );
        assert_eq!(
            next_budget(8_000, Some(Duration::from_micros(3)), MAX),
            16_000
        );
        assert_eq!(
            next_budget(40_000, Some(Duration::from_micros(30)), MAX),
            MAX
        );
    }

    #[test]
    fn the_process_budget_caps_everything() {
        assert_eq!(next_budget(MAX, Some(Duration::from_micros(1)), 0), 0);
        assert_eq!(next_budget(MAX, None, 1_000), 1_000);
        let hint = SpinHint::new();
        assert_eq!(hint.budget(MAX), MAX);
        hint.after_sleep(None, MAX);
        assert_eq!(hint.budget(MAX), MAX / 2);
        assert_eq!(hint.budget(10_000), 10_000);
    }
}
