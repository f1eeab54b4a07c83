//! The writers' lock: a process-shared, robust pthread mutex. When a holder
//! dies, the kernel (through glibc's robust list) hands the next locker
//! `EOWNERDEAD`; we mark the mutex consistent and carry on, because the
//! slot protocol never leaves a half-written value visible.

use nix::errno::Errno;

use crate::error::{Error, Result};

/// Initialises a mutex in shared memory as process-shared and robust.
///
/// # Safety
/// `m` must point to writable memory of at least `size_of::<pthread_mutex_t>()`
/// bytes that no thread is using as a mutex right now.
pub unsafe fn init(m: *mut libc::pthread_mutex_t) -> Result<()> {
    let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
    let check = |rc: libc::c_int, what: &str| {
        if rc == 0 {
            Ok(())
        } else {
            Err(Error::from_errno(Errno::from_raw(rc), what))
        }
    };
    // SAFETY: `attr` is initialised by pthread_mutexattr_init before any other
    // use and destroyed at the end; `m` is valid per the caller.
    unsafe {
        check(
            libc::pthread_mutexattr_init(attr.as_mut_ptr()),
            "pthread_mutexattr_init",
        )?;
        let result = check(
            libc::pthread_mutexattr_setpshared(attr.as_mut_ptr(), libc::PTHREAD_PROCESS_SHARED),
            "pthread_mutexattr_setpshared",
        )
        .and_then(|()| {
            check(
                libc::pthread_mutexattr_setrobust(attr.as_mut_ptr(), libc::PTHREAD_MUTEX_ROBUST),
                "pthread_mutexattr_setrobust",
            )
        })
        .and_then(|()| {
            check(
                libc::pthread_mutex_init(m, attr.as_ptr()),
                "pthread_mutex_init",
            )
        });
        libc::pthread_mutexattr_destroy(attr.as_mut_ptr());
        result
    }
}

/// Holds the lock; unlocks on drop.
pub struct Guard {
    m: *mut libc::pthread_mutex_t,
    /// The previous holder died while holding the lock.
    pub recovered: bool,
}

/// Locks, recovering the mutex if its previous holder died.
///
/// # Safety
/// `m` must point to a mutex initialised by [`init`] that stays mapped
/// until the returned guard is dropped.
pub unsafe fn lock(m: *mut libc::pthread_mutex_t) -> Result<Guard> {
    // SAFETY: valid per the caller.
    let rc = unsafe { libc::pthread_mutex_lock(m) };
    match rc {
        0 => Ok(Guard {
            m,
            recovered: false,
        }),
        libc::EOWNERDEAD => {
            // SAFETY: we hold the mutex (EOWNERDEAD still grants it).
            let rc = unsafe { libc::pthread_mutex_consistent(m) };
            if rc != 0 {
                // SAFETY: we hold it; release before reporting.
                unsafe { libc::pthread_mutex_unlock(m) };
                return Err(Error::from_errno(
                    Errno::from_raw(rc),
                    "pthread_mutex_consistent",
                ));
            }
            Ok(Guard { m, recovered: true })
        }
        rc => Err(Error::from_errno(
            Errno::from_raw(rc),
            "locking the segment's writer lock",
        )),
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: the guard exists only while this thread holds `m`.
        unsafe { libc::pthread_mutex_unlock(self.m) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_and_unlocks() {
        let mut m = std::mem::MaybeUninit::<libc::pthread_mutex_t>::zeroed();
        // SAFETY: `m` is a live local, used by this thread only.
        unsafe {
            init(m.as_mut_ptr()).unwrap();
            let g = lock(m.as_mut_ptr()).unwrap();
            assert!(!g.recovered);
            drop(g);
            drop(lock(m.as_mut_ptr()).unwrap());
            libc::pthread_mutex_destroy(m.as_mut_ptr());
        }
    }

    #[test]
    fn recovers_after_the_holder_thread_exits() {
        struct Shared(*mut libc::pthread_mutex_t);
        // SAFETY: the mutex is process-shared and outlives the thread.
        unsafe impl Send for Shared {}
        let mut m = Box::new(std::mem::MaybeUninit::<libc::pthread_mutex_t>::zeroed());
        let p = Shared(m.as_mut_ptr());
        // SAFETY: `m` outlives every use below.
        unsafe { init(p.0).unwrap() };
        std::thread::spawn(move || {
            let p = p;
            // SAFETY: as above; the guard is leaked so the thread dies holding it.
            std::mem::forget(unsafe { lock(p.0) }.unwrap());
        })
        .join()
        .unwrap();
        // SAFETY: as above.
        let g = unsafe { lock(m.as_mut_ptr()) }.unwrap();
        assert!(g.recovered, "a dead holder must be reported and recovered");
        drop(g);
        // SAFETY: as above.
        assert!(!unsafe { lock(m.as_mut_ptr()) }.unwrap().recovered);
    }
}
