//! The writers' lock: one 32-bit word in shared memory naming its holder.
//!
//! The word is 0 when free, else the holder's *registration* `r` (a number
//! its process took when it first wrote, and holds an open file
//! description lock for; see `record_lock`), with `CONTENDED` set while
//! other writers sleep on it and `AWAITED` set while readers sleep waiting
//! for the next value. Taking it uncontended is one compare-and-swap, and
//! releasing it another, so it costs no more than a plain mutex. A
//! contender that finds the holder's registration unlocked knows from the
//! kernel that the holder's process is gone, and takes the lock over: a
//! writer killed holding it never blocks the others.
//!
//! Unlike a robust pthread mutex, the word holds no pointer of any process
//! (glibc's robust list links live inside the mutex, and its unlock writes
//! through them): a peer that scribbles on the word can make writers
//! collide or wait, never make one write into its own private memory.
//! Sleepers re-check the holder's liveness every `RECHECK`, because no one
//! wakes them when a holder dies.
//!
//! Readers waiting for a new value set `AWAITED` with a read-modify-write
//! of this word and then re-check the published version; every value is
//! published while the lock is held, and the release is a read-modify-write
//! of the same word. So either the release sees the bit and wakes them, or
//! their read-modify-write comes after the release and their re-check sees
//! the new value: no wake-up is lost, and a set nobody waits for pays
//! nothing.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::futex;

pub const CONTENDED: u32 = 1 << 31;
pub const AWAITED: u32 = 1 << 30;
const HOLDER: u32 = AWAITED - 1;
/// Registrations are 1..=MAX_REGISTRATION; 0 means free.
pub const MAX_REGISTRATION: u32 = HOLDER;
/// How long a contender sleeps before it asks again whether the holder lives.
pub const RECHECK: Duration = Duration::from_millis(20);
/// Checks of the word before a contender goes to sleep.
const SPINS: u32 = 200;

/// Holds the lock; releases it on drop, waking the value's waiters (on
/// the futex word `awaited`) when any are asleep.
pub struct Guard {
    word: *const AtomicU32,
    awaited: *const AtomicU32,
    me: u32,
    /// The previous holder died holding the lock, and this lock took it over.
    pub recovered: bool,
}

// SAFETY: the words are shared-memory atomics that any thread may touch;
// `lock`'s caller keeps them mapped for the guard's life.
unsafe impl Send for Guard {}

/// Why the lock was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// This thread itself holds it (an open loan): waiting would never end.
    Busy,
}

/// Takes the lock as registration `me`. `alive(r)` says whether the
/// process of registration `r` (never `me`) still lives; `mine()` whether
/// the calling thread itself holds the lock (asked only when a holder of
/// our own process is found).
///
/// # Safety
/// `word` and `awaited` must stay valid until the guard is dropped.
#[inline]
pub unsafe fn lock(
    word: &AtomicU32,
    awaited: &AtomicU32,
    me: u32,
    alive: impl Fn(u32) -> bool,
    mine: impl Fn() -> bool,
) -> Result<Guard, Refused> {
    debug_assert!(me != 0 && me <= MAX_REGISTRATION);
    let guard = |recovered| Guard {
        word: word as *const AtomicU32,
        awaited: awaited as *const AtomicU32,
        me,
        recovered,
    };
    if word
        .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
    {
        return Ok(guard(false));
    }
    lock_contended(word, me, &alive, &mine).map(guard)
}

/// Returns whether the lock was taken over from a dead holder.
#[cold]
#[inline(never)]
fn lock_contended(
    word: &AtomicU32,
    me: u32,
    alive: &dyn Fn(u32) -> bool,
    mine: &dyn Fn() -> bool,
) -> Result<bool, Refused> {
    let mut spins = 0;
    // Once this contender has slept, others may sleep too: it takes the
    // lock marked contended, so its release wakes the next.
    let mut slept = false;
    loop {
        let cur = word.load(Ordering::Relaxed);
        let holder = cur & HOLDER;
        let contended = if slept { CONTENDED } else { cur & CONTENDED };
        if holder == 0 {
            let want = me | contended | (cur & AWAITED);
            if word
                .compare_exchange(cur, want, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return Ok(false);
            }
            continue;
        }
        if holder == me && mine() {
            return Err(Refused::Busy);
        }
        if spins < SPINS {
            spins += 1;
            std::hint::spin_loop();
            continue;
        }
        if holder != me && !alive(holder) {
            let want = me | CONTENDED | (cur & AWAITED);
            if word
                .compare_exchange(cur, want, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return Ok(true);
            }
            continue;
        }
        if cur & CONTENDED == 0
            && word
                .compare_exchange(cur, cur | CONTENDED, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            continue;
        }
        // SAFETY: `word` is a live, aligned u32 for the whole call.
        unsafe { futex::wait(word, cur | CONTENDED, Some(RECHECK)) };
        slept = true;
    }
}

/// Marks that a reader is about to sleep waiting for the next value
/// (see the module's comment for why this is a read-modify-write here).
pub fn await_release(word: &AtomicU32) {
    word.fetch_or(AWAITED, Ordering::SeqCst);
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: valid for the guard's life per `lock`'s caller.
        let word = unsafe { &*self.word };
        if word
            .compare_exchange(self.me, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            // SAFETY: as above.
            unlock_contended(word, unsafe { &*self.awaited }, self.me);
        }
    }
}

#[cold]
#[inline(never)]
fn unlock_contended(word: &AtomicU32, awaited: &AtomicU32, me: u32) {
    loop {
        let cur = word.load(Ordering::Relaxed);
        if cur & HOLDER != me {
            // Not ours any more (only a scribbling peer does that): never
            // release another holder's lock.
            return;
        }
        if word
            .compare_exchange(cur, 0, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            // SAFETY: both words are live, aligned u32s.
            unsafe {
                if cur & CONTENDED != 0 {
                    futex::wake(word, 1);
                }
                if cur & AWAITED != 0 {
                    futex::wake_all(awaited);
                }
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    fn take(word: &AtomicU32, me: u32, alive: impl Fn(u32) -> bool) -> Guard {
        static AWAITED_WORD: AtomicU32 = AtomicU32::new(0);
        // SAFETY: the words outlive the guards of these tests.
        unsafe { lock(word, &AWAITED_WORD, me, alive, || false) }.unwrap()
    }

    #[test]
    fn uncontended_is_one_swap_each_way() {
        let word = AtomicU32::new(0);
        let g = take(&word, 7, |_| true);
        assert!(!g.recovered);
        assert_eq!(word.load(Ordering::Relaxed), 7);
        drop(g);
        assert_eq!(word.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_dead_holder_is_taken_over() {
        let word = AtomicU32::new(3);
        let g = take(&word, 7, |r| r != 3);
        assert!(g.recovered);
        assert_eq!(word.load(Ordering::Relaxed) & HOLDER, 7);
        drop(g);
        assert_eq!(word.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_scribbled_word_is_never_released_by_the_wrong_holder() {
        let word = AtomicU32::new(0);
        let g = take(&word, 7, |_| true);
        word.store(9, Ordering::Relaxed);
        drop(g);
        assert_eq!(word.load(Ordering::Relaxed), 9);
    }

    #[test]
    fn the_holding_thread_is_refused_not_deadlocked() {
        let (word, awaited) = (AtomicU32::new(0), AtomicU32::new(0));
        let g = take(&word, 7, |_| true);
        // SAFETY: live locals.
        let again = unsafe { lock(&word, &awaited, 7, |_| true, || true) };
        assert_eq!(again.err(), Some(Refused::Busy));
        drop(g);
    }

    #[test]
    fn an_awaited_release_keeps_the_bit_until_it_wakes() {
        let (word, awaited) = (AtomicU32::new(0), AtomicU32::new(0));
        await_release(&word);
        // SAFETY: live locals.
        let g = unsafe { lock(&word, &awaited, 7, |_| true, || false) }.unwrap();
        assert_eq!(word.load(Ordering::Relaxed), 7 | AWAITED);
        drop(g);
        assert_eq!(word.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn contenders_exclude_each_other_and_sleepers_are_woken() {
        let word = Arc::new(AtomicU32::new(0));
        let inside = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (1..=4u32)
            .map(|me| {
                let (word, inside) = (Arc::clone(&word), Arc::clone(&inside));
                std::thread::spawn(move || {
                    for _ in 0..2000 {
                        let g = take(&word, me, |_| true);
                        assert!(!inside.swap(true, Ordering::SeqCst));
                        std::hint::spin_loop();
                        inside.store(false, Ordering::SeqCst);
                        drop(g);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(word.load(Ordering::Relaxed), 0);
    }
}
