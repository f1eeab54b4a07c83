//! Open file description locks (`F_OFD_*`) on a segment's object. The
//! kernel drops them when the last descriptor of their open file
//! description closes, which happens however the holding process dies:
//! - byte 0, write-locked by the owner for the segment's life: an owner is
//!   alive exactly when someone holds it (a dead lock cannot come back,
//!   unlike a reused pid);
//! - byte 1, read-locked by every mapping of the segment: a new owner
//!   resets shared state only while it holds it exclusively;
//! - byte `REGISTRATION_BASE + r`, write-locked by the process whose
//!   writers name themselves `r` in the writer lock word.
//!
//! Unlike classic record locks, which belong to the process and vanish
//! when it closes *any* descriptor of the file, these belong to one open
//! file description: opening and closing the object by other means in the
//! same process changes nothing. The price is fork: a child shares its
//! parent's descriptions, so `inherited` closes them in the child.
//! `F_OFD_GETLK` does not report locks of the caller's own description.

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;

use crate::error::{Error, Result};

pub const OWNER_BYTE: i64 = 0;
pub const ATTACH_BYTE: i64 = 1;
/// Registrations lock bytes far past any object's end (locks need no data).
pub const REGISTRATION_BASE: i64 = 1 << 40;

fn flock(kind: libc::c_int, byte: i64) -> libc::flock {
    // SAFETY: flock is plain data; all-zero is a valid value (and l_pid
    // must be 0 for OFD locks).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = byte as libc::off_t;
    fl.l_len = 1;
    fl
}

fn fcntl_lock(fd: BorrowedFd<'_>, cmd: libc::c_int, fl: &mut libc::flock) -> Result<(), Errno> {
    loop {
        // SAFETY: `fd` is open and `fl` is a valid flock for the call.
        let rc = unsafe { libc::fcntl(fd.as_raw_fd(), cmd, fl as *mut libc::flock) };
        if rc != -1 {
            return Ok(());
        }
        match Errno::last() {
            Errno::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// Tries to take (or convert to) the lock without waiting: Ok(false) if
/// another open file description holds a conflicting one. Converting a
/// held lock between shared and exclusive is atomic.
pub fn try_lock(fd: BorrowedFd<'_>, byte: i64, exclusive: bool) -> Result<bool> {
    let kind = if exclusive {
        libc::F_WRLCK
    } else {
        libc::F_RDLCK
    };
    match fcntl_lock(fd, libc::F_OFD_SETLK, &mut flock(kind, byte)) {
        Ok(()) => Ok(true),
        Err(Errno::EAGAIN | Errno::EACCES) => Ok(false),
        Err(e) => Err(Error::from_errno(e, "fcntl(F_OFD_SETLK)")),
    }
}

pub fn unlock(fd: BorrowedFd<'_>, byte: i64) -> Result<()> {
    fcntl_lock(fd, libc::F_OFD_SETLK, &mut flock(libc::F_UNLCK, byte))
        .map_err(|e| Error::from_errno(e, "fcntl(F_OFD_SETLK, F_UNLCK)"))
}

/// Whether another open file description holds a lock on `byte` that
/// would conflict with a write lock.
pub fn held_by_other(fd: BorrowedFd<'_>, byte: i64) -> Result<bool> {
    let mut fl = flock(libc::F_WRLCK, byte);
    fcntl_lock(fd, libc::F_OFD_GETLK, &mut fl)
        .map_err(|e| Error::from_errno(e, "fcntl(F_OFD_GETLK)"))?;
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn object() -> (std::fs::File, std::fs::File) {
        let f = std::fs::File::from(
            nix::sys::memfd::memfd_create(c"record-lock-test", nix::sys::memfd::MFdFlags::empty())
                .unwrap(),
        );
        // A second open file description of the same object.
        let path = format!("/proc/self/fd/{}", f.as_raw_fd());
        let g = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        (f, g)
    }

    #[test]
    fn locks_belong_to_their_open_file_description() {
        let (f, g) = object();
        assert!(try_lock(f.as_fd(), OWNER_BYTE, true).unwrap());
        // Our own description's lock never shows; another one's does.
        assert!(!held_by_other(f.as_fd(), OWNER_BYTE).unwrap());
        assert!(held_by_other(g.as_fd(), OWNER_BYTE).unwrap());
        assert!(!try_lock(g.as_fd(), OWNER_BYTE, true).unwrap());
        // Closing another descriptor of the object drops nothing.
        drop(g);
        let h = std::fs::File::open(format!("/proc/self/fd/{}", f.as_raw_fd())).unwrap();
        assert!(held_by_other(h.as_fd(), OWNER_BYTE).unwrap());
        unlock(f.as_fd(), OWNER_BYTE).unwrap();
        assert!(!held_by_other(h.as_fd(), OWNER_BYTE).unwrap());
    }

    #[test]
    fn a_shared_lock_converts_to_exclusive_only_when_alone() {
        let (f, g) = object();
        assert!(try_lock(f.as_fd(), ATTACH_BYTE, false).unwrap());
        assert!(try_lock(g.as_fd(), ATTACH_BYTE, false).unwrap());
        assert!(!try_lock(f.as_fd(), ATTACH_BYTE, true).unwrap());
        unlock(g.as_fd(), ATTACH_BYTE).unwrap();
        assert!(try_lock(f.as_fd(), ATTACH_BYTE, true).unwrap());
        assert!(!try_lock(g.as_fd(), ATTACH_BYTE, false).unwrap());
        assert!(try_lock(f.as_fd(), ATTACH_BYTE, false).unwrap());
        assert!(try_lock(g.as_fd(), ATTACH_BYTE, false).unwrap());
    }
}
