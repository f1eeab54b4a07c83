//! The C-visible types and constants of ABI version 1 (and its minor
//! revision 1.1). Names and numbers here are the ABI's contract
//! (docs/c-api.md): add, never change.
#![allow(non_camel_case_types)]

use crate::error::ErrorKind;
use crate::segment::Info;

/// A status code: one of the `SHMIFACE_*` constants below. A plain integer,
/// so that a value unknown to the caller is never undefined behaviour.
pub type shmiface_status = i32;

pub const SHMIFACE_OK: shmiface_status = 0;
pub const SHMIFACE_ERR_NULL_ARGUMENT: shmiface_status = 1;
pub const SHMIFACE_ERR_INVALID_NAME: shmiface_status = 2;
pub const SHMIFACE_ERR_INVALID_ARGUMENT: shmiface_status = 3;
pub const SHMIFACE_ERR_NOT_FOUND: shmiface_status = 4;
pub const SHMIFACE_ERR_EXISTS: shmiface_status = 5;
pub const SHMIFACE_ERR_TOO_LARGE: shmiface_status = 6;
pub const SHMIFACE_ERR_BUFFER_TOO_SMALL: shmiface_status = 7;
pub const SHMIFACE_ERR_TIMEOUT: shmiface_status = 8;
pub const SHMIFACE_ERR_INCOMPATIBLE: shmiface_status = 9;
pub const SHMIFACE_ERR_PERMISSION: shmiface_status = 10;
pub const SHMIFACE_ERR_DESTROYED: shmiface_status = 11;
pub const SHMIFACE_ERR_CONFLICT: shmiface_status = 12;
pub const SHMIFACE_ERR_NOT_READY: shmiface_status = 13;
pub const SHMIFACE_ERR_NO_SPACE: shmiface_status = 14;
pub const SHMIFACE_ERR_OS: shmiface_status = 15;
pub const SHMIFACE_ERR_PANIC: shmiface_status = 16;
/// A borrowed value was overwritten while it was borrowed: the bytes read
/// through it may be wrong (ABI 1.1).
pub const SHMIFACE_ERR_OVERWRITTEN: shmiface_status = 17;
/// Not a live handle of this library: destroyed already (use after destroy,
/// double destroy), never made by it (a handle plus an offset, a small
/// integer), or made before `fork` in the parent process (ABI 1.1). Every
/// function that takes a handle returns it for such a non-NULL pointer and
/// never crashes.
pub const SHMIFACE_ERR_BAD_HANDLE: shmiface_status = 18;
/// This thread holds an open loan on this segment, and the call would wait
/// for itself (ABI 1.1).
pub const SHMIFACE_ERR_BUSY: shmiface_status = 19;

/// The ABI version this header describes; compare with `shmiface_abi_version()`.
pub const SHMIFACE_ABI_VERSION: u32 = 1;
/// The minor revision of the ABI this header describes (1.1: additions
/// only); `shmiface_abi_version()` stays `SHMIFACE_ABI_VERSION`.
pub const SHMIFACE_ABI_MINOR: u32 = 1;
/// `shmiface_options.flags`: the owner's destroy does not unlink the segment.
pub const SHMIFACE_PERSISTENT: u32 = 1;
/// `flags` of the set calls: wake every waiter after the value is replaced.
pub const SHMIFACE_SET_NOTIFY: u32 = 1;
/// The largest capacity a segment may have, in bytes (1 GiB).
pub const SHMIFACE_MAX_CAPACITY: u64 = 1_073_741_824;
/// The longest segment name, in bytes.
pub const SHMIFACE_MAX_NAME_LEN: usize = 200;

static_assertions::const_assert_eq!(SHMIFACE_MAX_CAPACITY, crate::layout::MAX_CAPACITY);
static_assertions::const_assert_eq!(SHMIFACE_MAX_NAME_LEN, crate::name::MAX_NAME_LEN);

/// How `shmiface_init_instance` creates a segment. All-zero means every default.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct shmiface_options {
    /// Bytes one value may hold; 0 means 128. At most `SHMIFACE_MAX_CAPACITY`.
    pub capacity: u64,
    /// Permission bits of the object (at most 0777), applied exactly whatever
    /// the umask; 0 means 0600.
    pub mode: u32,
    /// `SHMIFACE_PERSISTENT` or 0; any other bit is an invalid argument.
    pub flags: u32,
}

/// A monitoring snapshot, filled by `shmiface_get_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct shmiface_info {
    /// Bytes one value may hold.
    pub capacity: u64,
    /// Bytes in the current value.
    pub length: u64,
    /// Completed sets since creation; 0 = never set.
    pub version: u64,
    /// Notifications since creation.
    pub notify_count: u64,
    /// Threads blocked in `shmiface_wait` now.
    pub waiters: u32,
    /// Permission bits of the object.
    pub mode: u32,
    /// The owner's pid (the last one recorded when no owner is alive).
    pub owner_pid: i32,
    /// An owner holds the segment now.
    pub owner_alive: bool,
    /// This handle created (or took over) the segment.
    pub is_owner: bool,
    /// The owner destroyed the segment.
    pub destroyed: bool,
}

impl From<Info> for shmiface_info {
    fn from(i: Info) -> Self {
        shmiface_info {
            capacity: i.capacity,
            length: i.length,
            version: i.version,
            notify_count: i.notify_count,
            waiters: i.waiters,
            mode: i.mode,
            owner_pid: i.owner_pid,
            owner_alive: i.owner_alive,
            is_owner: i.is_owner,
            destroyed: i.destroyed,
        }
    }
}

/// An opaque handle to a segment, made by `shmiface_init_instance` or
/// `shmiface_get_instance` and released by `shmiface_destroy`. The pointer
/// is a token, not an address: never dereference it. A non-NULL pointer
/// that is not a live handle is refused with `SHMIFACE_ERR_BAD_HANDLE`.
// Never constructed: a handle's value encodes a slot of the handle table
// (`handles.rs`), so nothing is ever read through a `*const shmiface_segment`.
pub struct shmiface_segment {
    _token: [u8; 0],
}

/// A static, NUL-terminated description of a status code.
pub(crate) fn status_text(status: shmiface_status) -> &'static [u8] {
    match status {
        SHMIFACE_OK => b"success\0",
        SHMIFACE_ERR_NULL_ARGUMENT => b"a required pointer was NULL\0",
        SHMIFACE_ERR_INVALID_NAME => b"invalid segment name\0",
        SHMIFACE_ERR_INVALID_ARGUMENT => b"invalid argument\0",
        SHMIFACE_ERR_NOT_FOUND => b"no segment with that name\0",
        SHMIFACE_ERR_EXISTS => b"a segment of that name has a live owner\0",
        SHMIFACE_ERR_TOO_LARGE => b"value longer than the segment's capacity\0",
        SHMIFACE_ERR_BUFFER_TOO_SMALL => b"buffer too small for the value\0",
        SHMIFACE_ERR_TIMEOUT => b"the wait timed out\0",
        SHMIFACE_ERR_INCOMPATIBLE => b"not a compatible shmiface segment\0",
        SHMIFACE_ERR_PERMISSION => b"permission denied\0",
        SHMIFACE_ERR_DESTROYED => b"the segment was destroyed by its owner\0",
        SHMIFACE_ERR_CONFLICT => b"the value changed (version conflict)\0",
        SHMIFACE_ERR_NOT_READY => b"the segment is still being initialised\0",
        SHMIFACE_ERR_NO_SPACE => b"no space left for shared memory\0",
        SHMIFACE_ERR_OS => b"operating system error\0",
        SHMIFACE_ERR_PANIC => b"internal error (caught panic)\0",
        SHMIFACE_ERR_OVERWRITTEN => b"the borrowed value was overwritten while borrowed\0",
        SHMIFACE_ERR_BAD_HANDLE => {
            b"not a live handle (destroyed, or never made by this library)\0"
        }
        SHMIFACE_ERR_BUSY => b"this thread holds an open loan on the segment\0",
        _ => b"unknown status code\0",
    }
}

static_assertions::const_assert_eq!(ErrorKind::Panic as i32, SHMIFACE_ERR_PANIC);
static_assertions::const_assert_eq!(ErrorKind::NullArgument as i32, SHMIFACE_ERR_NULL_ARGUMENT);
static_assertions::const_assert_eq!(ErrorKind::NoSpace as i32, SHMIFACE_ERR_NO_SPACE);
static_assertions::const_assert_eq!(ErrorKind::Overwritten as i32, SHMIFACE_ERR_OVERWRITTEN);
static_assertions::const_assert_eq!(ErrorKind::BadHandle as i32, SHMIFACE_ERR_BAD_HANDLE);
static_assertions::const_assert_eq!(ErrorKind::Busy as i32, SHMIFACE_ERR_BUSY);
