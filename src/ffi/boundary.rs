//! What every export goes through: the panic boundary that turns a Rust
//! result into a status (recording the detail as this thread's last
//! error), and the checks of raw arguments.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::handles;
use super::types::{shmiface_segment, shmiface_status, SHMIFACE_ERR_PANIC, SHMIFACE_OK};
use crate::error::{set_last_error, Error, ErrorKind, Result};
use crate::segment::Segment;

/// Runs `body`, turning its error (or a panic) into a status and a detail.
// Inlined into every export so that the success path is only the body:
// the failure handling lives out of line in `failed`.
#[inline(always)]
pub fn guard(function: &str, body: impl FnOnce() -> Result<()>) -> shmiface_status {
    // A test build whose crash points are misconfigured fails every call.
    #[cfg(feature = "failpoints")]
    let body = || crate::failpoints::check().and_then(|()| body());
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => SHMIFACE_OK,
        outcome => failed(function, outcome),
    }
}

type Outcome = std::thread::Result<Result<()>>;

#[cold]
#[inline(never)]
fn failed(function: &str, outcome: Outcome) -> shmiface_status {
    match outcome {
        Ok(Ok(())) => SHMIFACE_OK,
        Ok(Err(e)) => {
            set_last_error(&format!("{function}: {}", e.detail()));
            e.kind().status()
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!("{function}: internal error: {what}"));
            SHMIFACE_ERR_PANIC
        }
    }
}

#[cold]
#[inline(never)]
fn null(what: &str) -> Error {
    Error::new(ErrorKind::NullArgument, format!("{what} is NULL"))
}

#[cold]
#[inline(never)]
fn longer_than_any(what: &str, len: usize) -> Error {
    Error::new(
        ErrorKind::TooLarge,
        format!("{what} is {len} bytes, longer than any segment's capacity"),
    )
}

/// A required mutable reference from a raw pointer.
///
/// # Safety
/// A non-NULL `p` must be valid for reads and writes of `T` for `'a`.
pub unsafe fn required_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T> {
    // SAFETY: non-NULL pointers are valid per the caller.
    unsafe { p.as_mut() }.ok_or_else(|| null(what))
}

/// The segment of a handle: `NULL_ARGUMENT` for NULL, `BAD_HANDLE` for any
/// other pointer that is not a live handle (nothing is read through it).
///
/// # Safety
/// `shmiface_destroy` of `seg` must not run while the reference is in use
/// (the ABI's rule that destroy does not race other calls on a handle).
#[inline(always)]
pub unsafe fn handle<'a>(seg: *const shmiface_segment, what: &str) -> Result<&'a Segment> {
    // SAFETY: per the caller.
    unsafe { handles::lookup(seg, what) }
}

/// The bytes of a required NUL-terminated string.
///
/// # Safety
/// A non-NULL `p` must point to a NUL-terminated string alive for `'a`.
pub unsafe fn c_string<'a>(p: *const c_char, what: &str) -> Result<&'a [u8]> {
    if p.is_null() {
        return Err(null(what));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller.
    Ok(unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// A name argument: required, UTF-8, and following the name rule.
///
/// # Safety
/// As for [`c_string`].
pub unsafe fn name_arg<'a>(p: *const c_char) -> Result<&'a str> {
    // SAFETY: per the caller.
    let bytes = unsafe { c_string(p, "name") }?;
    let name = crate::name::Name::from_bytes(bytes)?;
    drop(name);
    Ok(std::str::from_utf8(bytes).expect("checked by Name::from_bytes"))
}

/// A byte buffer argument; NULL is allowed only with length 0.
///
/// # Safety
/// A non-NULL `p` must be valid for `len` bytes of reads for `'a`.
#[inline]
pub unsafe fn bytes_in<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(null(what));
    }
    // No buffer is this long (a slice of it would be undefined behaviour),
    // and no segment holds it: say so before making one.
    if len > isize::MAX as usize {
        return Err(longer_than_any(what, len));
    }
    // SAFETY: non-NULL and valid for `len` bytes per the caller.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A writable byte buffer argument; NULL is allowed only with length 0.
///
/// # Safety
/// A non-NULL `p` must be valid for `len` bytes of writes for `'a`.
pub unsafe fn bytes_out<'a>(p: *mut u8, len: usize, what: &str) -> Result<&'a mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(null(what));
    }
    // A caller that passes SIZE_MAX for "big enough" gets a slice Rust can
    // hold; nothing past the value (at most 1 GiB) is ever written.
    let len = len.min(isize::MAX as usize);
    // SAFETY: non-NULL and valid for `len` bytes per the caller.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// A timeout argument in milliseconds: -1 is no deadline, 0 polls, and
/// anything below -1 is refused.
pub fn timeout_arg(ms: i64) -> Result<Option<std::time::Duration>> {
    match ms {
        -1 => Ok(None),
        ms if ms >= 0 => Ok(Some(std::time::Duration::from_millis(ms as u64))),
        ms => Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("timeout_ms {ms} is below -1"),
        )),
    }
}

/// Passes a read's result through, writing the value's length to the
/// optional `len_out` on success and on `BufferTooSmall` (so the caller can
/// retry with that size).
///
/// # Safety
/// A non-NULL `len_out` must be valid for a write.
pub unsafe fn with_len_out(
    len_out: *mut usize,
    read: Result<crate::Snapshot>,
) -> Result<crate::Snapshot> {
    let len = match &read {
        Ok(s) => Some(s.len),
        Err(e) => e.value_len(),
    };
    if let Some(len) = len {
        // SAFETY: per the caller.
        unsafe { put(len_out, len) };
    }
    read
}

/// Writes an optional out-parameter.
///
/// # Safety
/// A non-NULL `p` must be valid for a write of `T`.
pub unsafe fn put<T>(p: *mut T, value: T) {
    if !p.is_null() {
        // SAFETY: non-NULL and valid per the caller.
        unsafe { p.write(value) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::with_last_error;

    #[test]
    fn a_panic_becomes_a_status_and_a_detail() {
        let status = guard("shmiface_test", || panic!("boom"));
        assert_eq!(status, SHMIFACE_ERR_PANIC);
        with_last_error(|e| assert_eq!(e, "shmiface_test: internal error: boom"));
    }

    #[test]
    fn a_length_no_buffer_can_have_is_refused_before_a_slice_is_made() {
        let byte = 7u8;
        // SAFETY: the length is refused before any slice is made.
        let e = unsafe { bytes_in(&byte, usize::MAX, "data") }.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge);
        assert!(e.detail().starts_with("data is"));
        // SAFETY: as above, for the largest length one past what a slice holds.
        let e = unsafe { bytes_in(&byte, isize::MAX as usize + 1, "data") }.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge);
    }

    #[test]
    fn an_error_becomes_its_status_with_the_function_named() {
        let status = guard("shmiface_x", || Err(Error::new(ErrorKind::Conflict, "v2")));
        assert_eq!(status, ErrorKind::Conflict.status());
        with_last_error(|e| assert_eq!(e, "shmiface_x: v2"));
    }
}
