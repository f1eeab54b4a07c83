//! SIGINT and SIGTERM as events: blocked before any thread starts (so every
//! thread inherits the mask) and polled by the main loop, so no handler
//! ever runs and nothing async-signal-unsafe can go wrong.

use std::io;
use std::mem::MaybeUninit;

pub struct Termination {
    set: libc::sigset_t,
}

impl Termination {
    pub fn block() -> io::Result<Termination> {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the set; sigaddset and
        // pthread_sigmask read and write only what they are given.
        unsafe {
            if libc::sigemptyset(set.as_mut_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            for sig in [libc::SIGINT, libc::SIGTERM] {
                if libc::sigaddset(set.as_mut_ptr(), sig) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            let set = set.assume_init();
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if rc != 0 {
                return Err(io::Error::from_raw_os_error(rc));
            }
            Ok(Termination { set })
        }
    }

    /// Waits up to `ms` milliseconds for a termination signal.
    pub fn take_within(&self, ms: u64) -> Option<libc::c_int> {
        let timeout = libc::timespec {
            tv_sec: (ms / 1000) as libc::time_t,
            tv_nsec: ((ms % 1000) * 1_000_000) as libc::c_long,
        };
        // SAFETY: the set is initialised; a NULL siginfo is allowed.
        let sig = unsafe { libc::sigtimedwait(&self.set, std::ptr::null_mut(), &timeout) };
        (sig > 0).then_some(sig)
    }
}

pub fn name(sig: libc::c_int) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
