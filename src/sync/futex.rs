//! Process-shared futex wait and wake (never `FUTEX_PRIVATE_FLAG`: the
//! word lives in a `MAP_SHARED` mapping that other processes also map).

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Why a futex wait returned. Callers re-check their condition in every case.
#[derive(Debug, PartialEq, Eq)]
pub enum Wake {
    /// Woken, interrupted, or the word had already changed.
    Maybe,
    TimedOut,
}

/// Sleeps while `*word == expected`, for at most `timeout` (None: forever).
///
/// # Safety
/// `word` must point to a valid, 4-byte aligned u32 that stays mapped for
/// the duration of the call.
pub unsafe fn wait(word: *const AtomicU32, expected: u32, timeout: Option<Duration>) -> Wake {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: the caller guarantees `word` is valid; the kernel only reads it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word,
            libc::FUTEX_WAIT,
            expected,
            ts_ptr,
            std::ptr::null::<u32>(),
            0u32,
        )
    };
    if rc == -1 && nix::errno::Errno::last() == nix::errno::Errno::ETIMEDOUT {
        Wake::TimedOut
    } else {
        Wake::Maybe
    }
}

/// Wakes up to `n` threads, in any process, sleeping on `word`.
///
/// # Safety
/// `word` must point to a valid, 4-byte aligned u32.
pub unsafe fn wake(word: *const AtomicU32, n: i32) {
    // SAFETY: the caller guarantees `word` is valid; FUTEX_WAKE never writes it.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word,
            libc::FUTEX_WAKE,
            n,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wakes every thread, in any process, sleeping on `word`.
///
/// # Safety
/// `word` must point to a valid, 4-byte aligned u32.
pub unsafe fn wake_all(word: *const AtomicU32) {
    // SAFETY: per the caller.
    unsafe { wake(word, i32::MAX) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    #[test]
    fn returns_at_once_when_the_word_differs() {
        let w = AtomicU32::new(1);
        // SAFETY: `w` is a live local.
        let r = unsafe { wait(&w, 0, Some(Duration::from_secs(10))) };
        assert_eq!(r, Wake::Maybe);
    }

    #[test]
    fn times_out() {
        let w = AtomicU32::new(0);
        // SAFETY: `w` is a live local.
        let r = unsafe { wait(&w, 0, Some(Duration::from_millis(5))) };
        assert_eq!(r, Wake::TimedOut);
    }

    #[test]
    fn wake_all_releases_a_sleeper() {
        let w = Arc::new(AtomicU32::new(0));
        let sleeper = {
            let w = Arc::clone(&w);
            std::thread::spawn(move || {
                while w.load(Ordering::SeqCst) == 0 {
                    // SAFETY: `w` is kept alive by the Arc.
                    unsafe { wait(&*w, 0, None) };
                }
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        w.store(1, Ordering::SeqCst);
        // SAFETY: `w` is kept alive by the Arc.
        unsafe { wake_all(&*w) };
        sleeper.join().unwrap();
    }
}
