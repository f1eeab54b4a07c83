//! Notifications: a 64-bit sequence (notifications << 1 | destroyed) whose
//! low half is the futex word. `notify` bumps it and makes the wake-up
//! syscall only when a waiter sleeps; `wait` spins for a bounded budget
//! first (a spinning waiter sees a change in about 0.1 µs, a sleeping one
//! takes 5-60 µs to wake on a virtual machine) and then sleeps, so an idle
//! waiter uses no CPU beyond a re-check every `SLEEP_SLICE`.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
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

fn futex_word(seq: &AtomicU64) -> *const AtomicU32 {
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
    // SAFETY: as in `notify`.
    unsafe { futex::wake_all(futex_word(&events.seq)) };
}

struct Counted<'a>(&'a AtomicU32);

impl<'a> Counted<'a> {
    fn new(counter: &'a AtomicU32) -> Self {
        counter.fetch_add(1, SeqCst);
        Counted(counter)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
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
    let mut spun = false;
    loop {
        let seq = events.seq.load(SeqCst);
        if seq & SEQ_DESTROYED != 0 {
            m.not_destroyed()?;
        }
        if seq >> 1 != *seen {
            *seen = seq >> 1;
            return Ok(());
        }
        let remaining = match deadline {
            None => None,
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(r) if !r.is_zero() => Some(r),
                _ => {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "no notification on {} within {} ms",
                            m.name().as_str(),
                            timeout.unwrap_or_default().as_millis()
                        ),
                    ))
                }
            },
        };
        if !spun {
            spun = true;
            if spin_until_changed(&events.seq, seq, spin_ns(), deadline) {
                continue;
            }
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
fn spin_until_changed(
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
        if now.duration_since(start) >= budget || deadline.is_some_and(|d| now >= d) {
            return false;
        }
    }
}
