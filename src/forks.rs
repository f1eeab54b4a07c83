//! What a `fork` must change. A child shares its parent's open file
//! descriptions, and with them the locks that say the parent's owner and
//! writers are alive: kept in a child that outlives its parent, they would
//! keep a dead owner "alive" for ever. Both the descriptor and the shared
//! mapping hold the description (the kernel drops its locks only when the
//! last reference goes), so every segment's descriptor and mapping are
//! tracked here, and a `pthread_atfork` child handler closes the one and
//! replaces the other with private zeros, so that a stray read through an
//! inherited handle finds memory, not a fault (exec drops both anyway:
//! descriptors are `O_CLOEXEC`).
//!
//! The fork *epoch* counts forks this process image went through: a
//! mapping or handle made in another epoch belongs to an ancestor and is
//! refused, and its descriptor number (closed here, perhaps reused since)
//! is never touched again.

use std::cell::UnsafeCell;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Once;

static EPOCH: AtomicU32 = AtomicU32::new(0);

/// The number of forks between the process's first image and this one.
#[inline]
pub fn epoch() -> u32 {
    EPOCH.load(Ordering::Relaxed)
}

pub(crate) fn bump() {
    EPOCH.fetch_add(1, Ordering::Relaxed);
}

/// The descriptors to close in a child, under a spin lock that the fork
/// handlers hold across the fork itself, so the child's copy is never
/// caught half-changed by a thread that does not exist in the child.
struct Tracked {
    busy: AtomicBool,
    fds: UnsafeCell<Vec<Inherited>>,
}

/// A segment's descriptor and mapping, as a child would inherit them.
#[derive(Clone, Copy)]
struct Inherited {
    fd: RawFd,
    addr: usize,
    len: usize,
}

// SAFETY: `fds` is touched only by whoever holds `busy`.
unsafe impl Sync for Tracked {}

static TRACKED: Tracked = Tracked {
    busy: AtomicBool::new(false),
    fds: UnsafeCell::new(Vec::new()),
};

fn acquire() {
    while TRACKED
        .busy
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::hint::spin_loop();
    }
}

fn release() {
    TRACKED.busy.store(false, Ordering::Release);
}

fn with_fds<T>(f: impl FnOnce(&mut Vec<Inherited>) -> T) -> T {
    acquire();
    // SAFETY: we hold `busy`.
    let out = f(unsafe { &mut *TRACKED.fds.get() });
    release();
    out
}

extern "C" fn before_fork() {
    acquire();
}

extern "C" fn after_fork_in_parent() {
    release();
}

extern "C" fn after_fork_in_child() {
    // SAFETY: the forking thread holds `busy` (taken before the fork), and
    // it is the only thread of the child. close() is async-signal-safe.
    let fds = unsafe { &mut *TRACKED.fds.get() };
    for each in fds.iter() {
        // SAFETY: a descriptor and a mapping this library made; in the
        // child their owners never use or close that number again (another
        // epoch), and unmap exactly this range. Both calls are plain
        // syscalls; the new mapping replaces the old one atomically.
        unsafe {
            libc::close(each.fd);
            libc::mmap(
                each.addr as *mut libc::c_void,
                each.len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED | libc::MAP_NORESERVE,
                -1,
                0,
            );
        }
    }
    fds.clear();
    bump();
    release();
}

/// Closes `fd`, and replaces the `len` bytes mapped at `addr`, in every
/// child forked from now on, until [`untrack`].
pub fn track(fd: RawFd, addr: *mut u8, len: usize) {
    static HANDLERS: Once = Once::new();
    HANDLERS.call_once(|| {
        // SAFETY: registering plain functions; they touch only TRACKED.
        unsafe {
            libc::pthread_atfork(
                Some(before_fork),
                Some(after_fork_in_parent),
                Some(after_fork_in_child),
            )
        };
    });
    let addr = addr as usize;
    with_fds(|fds| fds.push(Inherited { fd, addr, len }));
}

/// Stops tracking `fd` (it is about to be closed by its owner).
pub fn untrack(fd: RawFd) {
    with_fds(|fds| fds.retain(|each| each.fd != fd));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_closes_and_unmaps_what_is_tracked_and_moves_to_a_new_epoch() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        // SAFETY: a fresh shared anonymous page, unmapped at the end.
        let page = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        } as *mut u8;
        assert_ne!(page as *mut libc::c_void, libc::MAP_FAILED);
        // SAFETY: the page is mapped and writable.
        unsafe { page.write(7) };
        track(fd, page, 4096);
        let before = epoch();
        // SAFETY: the child only makes async-signal-safe calls and _exits.
        match unsafe { libc::fork() } {
            0 => {
                // SAFETY: plain syscalls, and a read of a page the handler
                // replaced (still mapped); _exit never returns.
                unsafe {
                    let closed = libc::fcntl(fd, libc::F_GETFD) == -1;
                    let replaced = page.read_volatile() == 0;
                    let moved = epoch() == before + 1;
                    libc::_exit(if closed && replaced && moved { 0 } else { 1 });
                }
            }
            pid => {
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
            }
        }
        assert_eq!(epoch(), before);
        untrack(fd);
        // SAFETY: the parent's page is untouched by the child's handler.
        unsafe {
            assert_eq!(page.read(), 7);
            libc::munmap(page as *mut libc::c_void, 4096);
        }
    }
}
