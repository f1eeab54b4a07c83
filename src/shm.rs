//! The POSIX shared-memory object under a segment: create, open, size,
//! reserve, map and unlink, each returning our `Error` with the OS cause.

use std::num::NonZeroUsize;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::mman::{self, MapFlags, ProtFlags};
use nix::sys::stat::{self, FileStat, Mode, SFlag};

use crate::error::{Error, ErrorKind, Result};
use crate::name::Name;

fn os_error(errno: Errno, what: &str, name: &Name) -> Error {
    match errno {
        Errno::ELOOP => Error::new(
            ErrorKind::Incompatible,
            format!(
                "{what} /dev/shm/{name}: it is a symbolic link, not a segment",
                name = name.as_str()
            ),
        ),
        e => Error::from_errno(e, format!("{what} /dev/shm/{}", name.as_str())),
    }
}

/// Creates the object, failing with `Exists` if the name is taken. The
/// mode is then set exactly, whatever the process's umask.
pub fn create_exclusive(name: &Name, mode: u32) -> Result<OwnedFd> {
    let fd = mman::shm_open(
        name.shm_name().as_c_str(),
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(mode),
    )
    .map_err(|e| os_error(e, "creating", name))?;
    if let Err(e) = stat::fchmod(&fd, Mode::from_bits_truncate(mode)) {
        let _ = mman::shm_unlink(name.shm_name().as_c_str());
        return Err(os_error(e, "setting the mode of", name));
    }
    Ok(fd)
}

/// Opens an existing object read-write, or read-only when `writable` is false.
///
/// O_NONBLOCK: a FIFO someone put in /dev/shm would otherwise block a
/// read-only open until a writer came (it has no effect on a real object).
/// What is not a regular file is refused here or by `fstat` below.
pub fn open(name: &Name, writable: bool) -> Result<OwnedFd> {
    let access = if writable {
        OFlag::O_RDWR
    } else {
        OFlag::O_RDONLY
    };
    mman::shm_open(
        name.shm_name().as_c_str(),
        access | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK,
        Mode::empty(),
    )
    .map_err(|e| match e {
        // A directory (glibc's shm_open reports EISDIR as EINVAL for a name
        // that is valid, as ours are) or a socket.
        Errno::EINVAL | Errno::EISDIR | Errno::ENXIO => Error::new(
            ErrorKind::Incompatible,
            format!(
                "opening /dev/shm/{}: it is not a shared-memory object ({})",
                name.as_str(),
                e.desc()
            ),
        ),
        e => os_error(e, "opening", name),
    })
}

/// The object's metadata, refusing anything but a regular file.
pub fn fstat(fd: BorrowedFd<'_>, name: &Name) -> Result<FileStat> {
    let st = stat::fstat(fd).map_err(|e| os_error(e, "fstat of", name))?;
    if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFREG {
        return Err(Error::new(
            ErrorKind::Incompatible,
            format!(
                "/dev/shm/{} is not a regular shared-memory object",
                name.as_str()
            ),
        ));
    }
    Ok(st)
}

/// (device, inode): what identifies an object, whatever names it.
pub type ObjectId = (u64, u64);

// The field types differ between targets; on some the casts are no-ops.
#[allow(clippy::unnecessary_cast)]
pub fn object_id(st: &FileStat) -> ObjectId {
    (st.st_dev as u64, st.st_ino as u64)
}

/// The object the name refers to now, without opening it.
pub fn identity_of(name: &Name) -> Option<ObjectId> {
    stat::lstat(&name.path()).ok().map(|st| object_id(&st))
}

/// Sizes the object and reserves its pages now, so that a full filesystem
/// is an error here and never a SIGBUS on a later write.
pub fn reserve(fd: BorrowedFd<'_>, size: u64, name: &Name) -> Result<()> {
    nix::unistd::ftruncate(fd, size as libc::off_t).map_err(|e| os_error(e, "sizing", name))?;
    nix::fcntl::posix_fallocate(fd, 0, size as libc::off_t)
        .map_err(|e| os_error(e, "reserving memory for", name))
}

pub fn unlink(name: &Name) -> Result<()> {
    mman::shm_unlink(name.shm_name().as_c_str()).map_err(|e| os_error(e, "unlinking", name))
}

/// A shared mapping of the whole object, unmapped on drop.
pub struct Map {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory; all access to it goes through
// atomics, the writer lock, or the seqlock protocol.
unsafe impl Send for Map {}
// SAFETY: as above.
unsafe impl Sync for Map {}

impl Map {
    pub fn new(fd: BorrowedFd<'_>, len: usize, writable: bool, name: &Name) -> Result<Map> {
        let size = NonZeroUsize::new(len)
            .ok_or_else(|| Error::new(ErrorKind::Incompatible, "mapping an empty object"))?;
        let prot = if writable {
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE
        } else {
            ProtFlags::PROT_READ
        };
        // SAFETY: a fresh shared mapping of `len` bytes of the object; nothing
        // else in this process aliases it as a Rust reference.
        let ptr = unsafe { mman::mmap(None, size, prot, MapFlags::MAP_SHARED, fd.as_fd(), 0) }
            .map_err(|e| os_error(e, "mapping", name))?;
        Ok(Map {
            ptr: ptr.cast(),
            len,
        })
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned, unmapped once.
        let _ = unsafe { mman::munmap(self.ptr.cast(), self.len) };
    }
}
