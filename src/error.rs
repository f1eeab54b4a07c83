//! One error type for the whole crate, its status codes, and the
//! thread-local "last error" detail that the C ABI hands out.

use std::cell::RefCell;
use std::fmt;

use nix::errno::Errno;

/// What went wrong, one variant per status code of the C ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorKind {
    NullArgument = 1,
    InvalidName = 2,
    InvalidArgument = 3,
    NotFound = 4,
    Exists = 5,
    TooLarge = 6,
    BufferTooSmall = 7,
    Timeout = 8,
    Incompatible = 9,
    Permission = 10,
    Destroyed = 11,
    Conflict = 12,
    NotReady = 13,
    NoSpace = 14,
    Os = 15,
    Panic = 16,
    /// A borrowed value was overwritten while it was borrowed (ABI 1.1).
    Overwritten = 17,
    /// Not a live handle of this library: destroyed already, never made by
    /// it, or made before a fork in the parent process (ABI 1.1).
    BadHandle = 18,
    /// This thread holds an open loan on the segment and the call would
    /// wait for itself (ABI 1.1).
    Busy = 19,
}

impl ErrorKind {
    /// The status number of the C ABI (stable, never reused).
    pub fn status(self) -> i32 {
        self as i32
    }
}

/// An error with a human-readable detail naming the cause.
// Boxed: a result of every hot call carries an `Error` type, and one pointer
// keeps `Result<()>` in a register where the unboxed 48 bytes went through
// the stack on every successful call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(Box<Inner>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    detail: String,
    /// For `BufferTooSmall`: the length of the value that did not fit.
    value_len: Option<usize>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Error(Box::new(Inner {
            kind,
            detail: detail.into(),
            value_len: None,
        }))
    }

    /// The caller's buffer cannot hold a value of `len` bytes (plus the
    /// terminator, where the call adds one).
    pub fn buffer_too_small(len: usize, buf_len: usize) -> Self {
        Error(Box::new(Inner {
            kind: ErrorKind::BufferTooSmall,
            detail: format!("the value is {len} bytes and the buffer holds {buf_len}"),
            value_len: Some(len),
        }))
    }

    /// Maps an errno from an OS call to the status a caller can act on.
    pub fn from_errno(errno: Errno, what: impl fmt::Display) -> Self {
        let kind = match errno {
            Errno::EACCES | Errno::EPERM | Errno::EROFS => ErrorKind::Permission,
            Errno::ENOENT => ErrorKind::NotFound,
            Errno::ENOSPC | Errno::EDQUOT | Errno::EFBIG => ErrorKind::NoSpace,
            Errno::EEXIST => ErrorKind::Exists,
            _ => ErrorKind::Os,
        };
        Error::new(kind, format!("{what}: {} ({})", errno.desc(), errno as i32))
    }

    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    pub fn value_len(&self) -> Option<usize> {
        self.0.value_len
    }

    /// The same error with `context` in front of its detail.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.0.detail = format!("{context}: {}", self.0.detail);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.detail)
    }
}

impl std::error::Error for Error {}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Records the detail of this thread's latest failed call.
pub fn set_last_error(detail: &str) {
    LAST_ERROR.with(|last| {
        let mut last = last.borrow_mut();
        last.clear();
        last.push_str(detail);
    });
}

/// Runs `f` with this thread's latest error detail ("" if none yet).
pub fn with_last_error<R>(f: impl FnOnce(&str) -> R) -> R {
    LAST_ERROR.with(|last| f(&last.borrow()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_maps_to_actionable_kinds() {
        assert_eq!(
            Error::from_errno(Errno::EACCES, "x").kind(),
            ErrorKind::Permission
        );
        assert_eq!(
            Error::from_errno(Errno::ENOENT, "x").kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            Error::from_errno(Errno::ENOSPC, "x").kind(),
            ErrorKind::NoSpace
        );
        assert_eq!(Error::from_errno(Errno::EIO, "x").kind(), ErrorKind::Os);
        assert!(Error::from_errno(Errno::EIO, "open")
            .detail()
            .starts_with("open: "));
    }

    #[test]
    fn last_error_is_per_thread() {
        set_last_error("main thread failure");
        std::thread::spawn(|| with_last_error(|e| assert_eq!(e, "")))
            .join()
            .unwrap();
        with_last_error(|e| assert_eq!(e, "main thread failure"));
    }

    #[test]
    fn buffer_too_small_carries_the_length() {
        let e = Error::buffer_too_small(42, 10);
        assert_eq!(e.kind(), ErrorKind::BufferTooSmall);
        assert_eq!(e.value_len(), Some(42));
    }
}
