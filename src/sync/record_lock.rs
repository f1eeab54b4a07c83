//! fcntl record locks on a segment's object, which the kernel drops when
//! the holding process dies, however it dies:
//! - byte 0, write-locked by the owner for the segment's life: an owner is
//!   alive exactly when someone holds it (a dead lock cannot come back,
//!   unlike a reused pid);
//! - byte 1, read-locked by every process that maps the segment: a new
//!   owner may reset shared state only when no one else holds it.
//!
//! Record locks belong to the process, not the descriptor, and closing any
//! descriptor of the file drops them all, so the registry keeps exactly one
//! descriptor per segment per process. `F_GETLK` never reports the
//! caller's own locks.

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;

use crate::error::{Error, Result};

pub const OWNER_BYTE: i64 = 0;
pub const ATTACH_BYTE: i64 = 1;

fn flock(kind: libc::c_int, byte: i64) -> libc::flock {
    // SAFETY: flock is plain data; all-zero is a valid value.
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

/// Tries to take the lock without waiting: Ok(false) if another process holds it.
pub fn try_lock(fd: BorrowedFd<'_>, byte: i64, exclusive: bool) -> Result<bool> {
    let kind = if exclusive {
        libc::F_WRLCK
    } else {
        libc::F_RDLCK
    };
    match fcntl_lock(fd, libc::F_SETLK, &mut flock(kind, byte)) {
        Ok(()) => Ok(true),
        Err(Errno::EAGAIN | Errno::EACCES) => Ok(false),
        Err(e) => Err(Error::from_errno(e, "fcntl(F_SETLK)")),
    }
}

pub fn unlock(fd: BorrowedFd<'_>, byte: i64) -> Result<()> {
    fcntl_lock(fd, libc::F_SETLK, &mut flock(libc::F_UNLCK, byte))
        .map_err(|e| Error::from_errno(e, "fcntl(F_SETLK, F_UNLCK)"))
}

/// The pid of another process holding a lock on `byte` that would conflict
/// with a write lock, if any.
pub fn holder(fd: BorrowedFd<'_>, byte: i64) -> Result<Option<i32>> {
    let mut fl = flock(libc::F_WRLCK, byte);
    fcntl_lock(fd, libc::F_GETLK, &mut fl).map_err(|e| Error::from_errno(e, "fcntl(F_GETLK)"))?;
    Ok((fl.l_type != libc::F_UNLCK as libc::c_short).then_some(fl.l_pid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn own_locks_are_invisible_to_getlk() {
        let f = std::fs::File::from(
            nix::sys::memfd::memfd_create(c"record-lock-test", nix::sys::memfd::MFdFlags::empty())
                .unwrap(),
        );
        assert!(try_lock(f.as_fd(), OWNER_BYTE, true).unwrap());
        // Our own lock never shows, which is why the registry remembers ownership.
        assert_eq!(holder(f.as_fd(), OWNER_BYTE).unwrap(), None);
        unlock(f.as_fd(), OWNER_BYTE).unwrap();
    }
}
