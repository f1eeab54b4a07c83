//! The writers' lock: one 32-bit word in shared memory naming its holder.
//!
//! The word is 0 when free, else the holder's *registration* `r` (a number
//! its process took when it mapped the segment, and holds an open file
//! description lock for; see `record_lock`), with `CONTENDED` set while
//! others sleep on it. Taking it uncontended is one compare-and-swap, and
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

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::futex;

pub const CONTENDED: u32 = 1 << 31;
/// Registrations are 1..=MAX_REGISTRATION; 0 means free.
pub const MAX_REGISTRATION: u32 = CONTENDED - 1;
/// How long a contender sleeps before it asks again whether the holder lives.
pub const RECHECK: Duration = Duration::from_millis(20);
/// Checks of the word before a contender goes to sleep.
const SPINS: u32 = 200;

/// Holds the lock; releases it on drop.
pub struct Guard<'a> {
    word: &'a AtomicU32,
    me: u32,
    /// The previous holder died holding the lock, and this lock took it over.
    pub recovered: bool,
}

/// Takes the lock as registration `me`. `alive(r)` says whether the
/// process of registration `r` (never `me`) still lives.
#[inline]
pub fn lock(word: &AtomicU32, me: u32, alive: impl Fn(u32) -> bool) -> Guard<'_> {
    debug_assert!(me != 0 && me <= MAX_REGISTRATION);
    if word
        .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        return lock_contended(word, me, &alive);
    }
    Guard {
        word,
        me,
        recovered: false,
    }
}

#[cold]
#[inline(never)]
fn lock_contended<'a>(word: &'a AtomicU32, me: u32, alive: &dyn Fn(u32) -> bool) -> Guard<'a> {
    let take = |recovered| Guard {
        word,
        me,
        recovered,
    };
    let mut spins = 0;
    // Once this contender has slept, others may sleep too: it takes the
    // lock marked contended, so its release wakes the next.
    let mut slept = false;
    loop {
        let cur = word.load(Ordering::Relaxed);
        if cur == 0 {
            let want = if slept { me | CONTENDED } else { me };
            if word
                .compare_exchange(0, want, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return take(false);
            }
            continue;
        }
        if spins < SPINS {
            spins += 1;
            std::hint::spin_loop();
            continue;
        }
        let holder = cur & !CONTENDED;
        if holder != me && !alive(holder) {
            if word
                .compare_exchange(cur, me | CONTENDED, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return take(true);
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

impl Drop for Guard<'_> {
    #[inline]
    fn drop(&mut self) {
        if self
            .word
            .compare_exchange(self.me, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            unlock_contended(self.word, self.me);
        }
    }
}

#[cold]
#[inline(never)]
fn unlock_contended(word: &AtomicU32, me: u32) {
    loop {
        let cur = word.load(Ordering::Relaxed);
        if cur & !CONTENDED != me {
            // Not ours any more (only a scribbling peer does that): never
            // release another holder's lock.
            return;
        }
        if word
            .compare_exchange(cur, 0, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            if cur & CONTENDED != 0 {
                // SAFETY: `word` is a live, aligned u32.
                unsafe { futex::wake(word, 1) };
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

    #[test]
    fn uncontended_is_one_swap_each_way() {
        let word = AtomicU32::new(0);
        let g = lock(&word, 7, |_| true);
        assert!(!g.recovered);
        assert_eq!(word.load(Ordering::Relaxed), 7);
        drop(g);
        assert_eq!(word.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_dead_holder_is_taken_over() {
        let word = AtomicU32::new(3);
        let g = lock(&word, 7, |r| r != 3);
        assert!(g.recovered);
        assert_eq!(word.load(Ordering::Relaxed) & !CONTENDED, 7);
        drop(g);
        assert_eq!(word.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_scribbled_word_is_never_released_by_the_wrong_holder() {
        let word = AtomicU32::new(0);
        let g = lock(&word, 7, |_| true);
        word.store(9, Ordering::Relaxed);
        drop(g);
        assert_eq!(word.load(Ordering::Relaxed), 9);
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
                        let g = lock(&word, me, |_| true);
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
