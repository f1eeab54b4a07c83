//! SIGINT, SIGTERM and SIGHUP as events rather than deaths, for `watch`
//! and `create`. The signals are blocked (before anything else happens, on
//! the only thread) and then taken with `sigwait`, or polled with a
//! zero-timeout `sigtimedwait`: no handler ever runs, so there is nothing
//! async-signal-unsafe to get wrong and no wake-up to lose.

use std::io;
use std::mem::MaybeUninit;

const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The blocked termination signals of this process.
pub struct Termination {
    set: libc::sigset_t,
}

impl Termination {
    /// Blocks SIGINT, SIGTERM and SIGHUP for the calling thread (and any
    /// thread it starts later), so that they stay pending until taken.
    pub fn block() -> io::Result<Termination> {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the set; sigaddset and
        // pthread_sigmask read and write only what they are given.
        unsafe {
            if libc::sigemptyset(set.as_mut_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            for sig in SIGNALS {
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

    /// Takes a pending termination signal, if one has arrived.
    pub fn take(&self) -> Option<libc::c_int> {
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        loop {
            // SAFETY: the set is initialised; a NULL siginfo is allowed.
            let sig = unsafe { libc::sigtimedwait(&self.set, std::ptr::null_mut(), &zero) };
            if sig > 0 {
                return Some(sig);
            }
            if io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                return None;
            }
        }
    }

    /// Blocks until a termination signal arrives, and returns it.
    pub fn wait(&self) -> libc::c_int {
        loop {
            let mut sig: libc::c_int = 0;
            // SAFETY: the set is initialised and `sig` is a valid out-pointer.
            if unsafe { libc::sigwait(&self.set, &mut sig) } == 0 {
                return sig;
            }
        }
    }
}

/// The conventional name of one of the signals above.
pub fn name(sig: libc::c_int) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}
