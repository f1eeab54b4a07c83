//! The `extern "C"` surface, and nothing else: every function checks its
//! pointers, runs inside the panic boundary, returns a status, and leaves
//! the detail of a failure in `shmiface_last_error`. The logic lives in
//! `segment.rs`.
#![allow(non_camel_case_types)]

mod boundary;
mod handles;
mod probe;
mod streams;
pub mod types;

use std::ffi::c_char;

use boundary::{
    bytes_in, bytes_out, c_string, guard, handle, name_arg, put, required_mut, timeout_arg,
    with_len_out,
};
pub use probe::*;
pub use streams::*;
pub use types::*;

use crate::error::{with_last_error, Error, ErrorKind, Result};
use crate::segment::{self, Options, Segment};

pub(crate) fn options_from(raw: Option<&shmiface_options>) -> Result<Options> {
    let raw = raw.copied().unwrap_or_default();
    if raw.flags & !SHMIFACE_PERSISTENT != 0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "unknown option flag bits {:#x}",
                raw.flags & !SHMIFACE_PERSISTENT
            ),
        ));
    }
    let defaults = Options::default();
    Ok(Options {
        capacity: if raw.capacity == 0 {
            defaults.capacity
        } else {
            raw.capacity
        },
        mode: if raw.mode == 0 {
            defaults.mode
        } else {
            raw.mode
        },
        persistent: raw.flags & SHMIFACE_PERSISTENT != 0,
        history: defaults.history,
    })
}

#[inline]
pub(crate) fn notify_flag(flags: u32) -> Result<bool> {
    if flags & !SHMIFACE_SET_NOTIFY != 0 {
        return Err(unknown_flags(flags & !SHMIFACE_SET_NOTIFY));
    }
    Ok(flags & SHMIFACE_SET_NOTIFY != 0)
}

#[cold]
#[inline(never)]
fn unknown_flags(bits: u32) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!("unknown flag bits {bits:#x}"),
    )
}

/// shmiface_init_instance: creates the segment `name` and makes the caller
/// its owner.
///
/// `options` may be NULL for every default (capacity 128, mode 0600, not
/// persistent). If the name exists and its owner is alive: `EXISTS`. If
/// its owner is dead, the caller takes it over: the last complete value
/// survives when the capacity matches; otherwise the old object is marked
/// destroyed for its attachers and replaced. Storage is reserved here, so a
/// full filesystem gives `NO_SPACE` now and never a SIGBUS later.
///
/// Ownership: on success `*out` receives a new handle that the caller
/// releases with `shmiface_destroy`. `*out` is untouched on failure. A
/// process holds at most 1048576 live handles; one more returns `OS`
/// ("too many live handles") before anything is created.
/// Thread-safety: may be called from any thread.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string; `options` NULL or valid;
/// `out` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn shmiface_init_instance(
    name: *const c_char,
    options: *const shmiface_options,
    out: *mut *mut shmiface_segment,
) -> shmiface_status {
    guard("shmiface_init_instance", || {
        // SAFETY: per this function's contract.
        let name = unsafe { name_arg(name) }?;
        // SAFETY: per this function's contract.
        let out = unsafe { required_mut(out, "out") }?;
        // SAFETY: per this function's contract (NULL allowed).
        let options = options_from(unsafe { options.as_ref() })?;
        *out = handles::insert(|| Segment::create(name, &options))?;
        Ok(())
    })
}

/// shmiface_get_instance: attaches to the existing segment `name`.
///
/// Checks the magic, layout version and sizes (`INCOMPATIBLE`), and waits
/// up to 1 s for a segment still being initialised (`NOT_READY`). If the
/// mode allows this process only to read, the handle is read-only: reads,
/// `get_info` and `wait` work; sets and `notify` return `PERMISSION`.
/// Within one process, attaching the same name twice shares one mapping.
///
/// Ownership: on success `*out` receives a new handle that the caller
/// releases with `shmiface_destroy` (at most 1048576 live at once, as for
/// `shmiface_init_instance`). Thread-safety: any thread.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string; `out` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn shmiface_get_instance(
    name: *const c_char,
    out: *mut *mut shmiface_segment,
) -> shmiface_status {
    guard("shmiface_get_instance", || {
        // SAFETY: per this function's contract.
        let name = unsafe { name_arg(name) }?;
        // SAFETY: per this function's contract.
        let out = unsafe { required_mut(out, "out") }?;
        *out = handles::insert(|| Segment::attach(name))?;
        Ok(())
    })
}

/// shmiface_get_string: copies the current value and a terminating NUL
/// into `buf`.
///
/// `len_out` (may be NULL) receives the value's length without the NUL;
/// on `BUFFER_TOO_SMALL` it is written too, so the caller can retry with
/// `len + 1` bytes. `buf` may be NULL only when `buf_len` is 0 (a length
/// query). Never blocks on writers and never returns a torn value.
/// `BAD_HANDLE` if `seg` is not a live handle (destroyed, never made by
/// this library, or made before `fork` in the parent process).
///
/// Ownership: the caller owns `buf`. Thread-safety: any thread, concurrently
/// with any other call on the handle except `shmiface_destroy`.
///
/// # Safety
/// `seg` may be any value: NULL returns `NULL_ARGUMENT`, and any other
/// pointer that is not a live handle returns `BAD_HANDLE` (nothing is read
/// through it); no other thread may destroy the handle during the call.
/// `buf` must be valid for `buf_len` bytes of writes; `len_out` NULL or
/// valid for a write.
#[no_mangle]
pub unsafe extern "C" fn shmiface_get_string(
    seg: *const shmiface_segment,
    buf: *mut c_char,
    buf_len: usize,
    len_out: *mut usize,
) -> shmiface_status {
    guard("shmiface_get_string", || {
        // SAFETY: per this function's contract.
        let seg = unsafe { handle(seg, "seg") }?;
        // SAFETY: per this function's contract.
        let buf = unsafe { bytes_out(buf as *mut u8, buf_len, "buf") }?;
        let room = buf.len().saturating_sub(1);
        match seg.read_into(&mut buf[..room]) {
            Ok(snapshot) => {
                if buf.is_empty() {
                    // SAFETY: per this function's contract.
                    unsafe { put(len_out, snapshot.len) };
                    return Err(Error::buffer_too_small(snapshot.len, 0));
                }
                buf[snapshot.len] = 0;
                // SAFETY: per this function's contract.
                unsafe { put(len_out, snapshot.len) };
                Ok(())
            }
            Err(e) => {
                if let Some(len) = e.value_len() {
                    // SAFETY: per this function's contract.
                    unsafe { put(len_out, len) };
                    return Err(Error::buffer_too_small(len, buf.len()).context("with its NUL"));
                }
                Err(e)
            }
        }
    })
}

/// shmiface_set_string: replaces the value with the bytes of `value`
/// (without its NUL), atomically for every reader. A value longer than the
/// capacity returns `TOO_LARGE` and the old value stays. `BAD_HANDLE` if
/// `seg` is not a live handle.
///
/// Thread-safety: any thread; writers are serialised by a robust
/// process-shared lock, so a writer killed mid-set never blocks the next.
///
/// # Safety
/// `seg` may be any value: NULL returns `NULL_ARGUMENT`, and any other
/// pointer that is not a live handle returns `BAD_HANDLE` (nothing is read
/// through it); no other thread may destroy the handle during the call.
/// `value` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn shmiface_set_string(
    seg: *mut shmiface_segment,
    value: *const c_char,
) -> shmiface_status {
    // SAFETY: per this function's contract.
    unsafe { set_c_string("shmiface_set_string", seg, value, false) }
}

/// The two string setters, which differ only in whether they notify.
///
/// # Safety
/// As for `shmiface_set_string`.
unsafe fn set_c_string(
    function: &str,
    seg: *mut shmiface_segment,
    value: *const c_char,
    notify: bool,
) -> shmiface_status {
    guard(function, || {
        // SAFETY: per the caller's contract.
        let seg = unsafe { handle(seg, "seg") }?;
        // SAFETY: per the caller's contract.
        let value = unsafe { c_string(value, "value") }?;
        seg.write(value, notify).map(drop)
    })
}

/// shmiface_set_string_notify: as `shmiface_set_string`, then wakes every
/// waiter in every process. `BAD_HANDLE` if `seg` is not a live handle.
///
/// # Safety
/// As for `shmiface_set_string`.
#[no_mangle]
pub unsafe extern "C" fn shmiface_set_string_notify(
    seg: *mut shmiface_segment,
    value: *const c_char,
) -> shmiface_status {
    // SAFETY: per this function's contract.
    unsafe { set_c_string("shmiface_set_string_notify", seg, value, true) }
}

/// shmiface_destroy: releases the handle; NULL is a no-op returning `OK`.
///
/// If the handle is the owner's and the segment is not persistent: marks
/// it destroyed, wakes every waiter (they return `DESTROYED`) and unlinks
/// the name. The owner of a persistent segment only gives up ownership.
/// Other processes' mappings stay valid until they destroy their handles.
///
/// From the start of the call the handle is no longer live: a second
/// destroy, and every later call with it, returns `BAD_HANDLE`, as does a
/// destroy of any other pointer that is not a live handle (a handle copied
/// into a child by `fork` included: the child cannot release the parent's
/// handle, nor act as its owner).
///
/// Ownership: the handle is freed even when a status other than `OK` is
/// returned (the detail says what failed on the way); never use it again.
/// Thread-safety: must not race other calls on the same handle.
///
/// # Safety
/// `seg` may be any value (NULL: a no-op; not a live handle: `BAD_HANDLE`,
/// nothing is read through it), but a live handle must not be in use by any
/// other thread: a call on it that is still running when the segment is
/// freed is undefined behaviour. A call that starts afterwards gets
/// `BAD_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn shmiface_destroy(seg: *mut shmiface_segment) -> shmiface_status {
    guard("shmiface_destroy", || {
        if seg.is_null() {
            return Ok(());
        }
        // The handle is refused from here on; the segment is freed after.
        let segment = handles::remove(seg, "seg")?;
        segment.destroy()
    })
}

/// shmiface_get_bytes: copies the current value (any bytes, NUL allowed)
/// into `buf`, without a terminator.
///
/// `len_out` (may be NULL) receives its length, also on `BUFFER_TOO_SMALL`;
/// `version_out` (may be NULL) the version of the value read. `buf` may be
/// NULL only when `buf_len` is 0. Never blocks and never tears.
/// `BAD_HANDLE` if `seg` is not a live handle.
///
/// Thread-safety: as `shmiface_get_string`.
///
/// # Safety
/// `seg` may be any value: NULL returns `NULL_ARGUMENT`, and any other
/// pointer that is not a live handle returns `BAD_HANDLE` (nothing is read
/// through it); no other thread may destroy the handle during the call.
/// `buf` must be valid for `buf_len` bytes of writes; `len_out` and
/// `version_out` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn shmiface_get_bytes(
    seg: *const shmiface_segment,
    buf: *mut u8,
    buf_len: usize,
    len_out: *mut usize,
    version_out: *mut u64,
) -> shmiface_status {
    guard("shmiface_get_bytes", || {
        // SAFETY: per this function's contract.
        let seg = unsafe { handle(seg, "seg") }?;
        // SAFETY: per this function's contract.
        let buf = unsafe { bytes_out(buf, buf_len, "buf") }?;
        // SAFETY: per this function's contract.
        let snapshot = unsafe { with_len_out(len_out, seg.read_into(buf)) }?;
        // SAFETY: per this function's contract.
        unsafe { put(version_out, snapshot.version) };
        Ok(())
    })
}

/// shmiface_set_bytes: replaces the value with `len` bytes at `data` (NUL
/// allowed; `data` may be NULL when `len` is 0). `flags` is 0 or
/// `SHMIFACE_SET_NOTIFY`. `version_out` (may be NULL) receives the new version.
/// `BAD_HANDLE` if `seg` is not a live handle.
///
/// Thread-safety: as `shmiface_set_string`.
///
/// # Safety
/// `seg` may be any value: NULL returns `NULL_ARGUMENT`, and any other
/// pointer that is not a live handle returns `BAD_HANDLE` (nothing is read
/// through it); no other thread may destroy the handle during the call.
/// `data` must be valid for `len` bytes of reads; `version_out` NULL or
/// valid for a write.
#[no_mangle]
pub unsafe extern "C" fn shmiface_set_bytes(
    seg: *mut shmiface_segment,
    data: *const u8,
    len: usize,
    flags: u32,
    version_out: *mut u64,
) -> shmiface_status {
    guard("shmiface_set_bytes", || {
        // SAFETY: per this function's contract.
        let seg = unsafe { handle(seg, "seg") }?;
        // SAFETY: per this function's contract.
        let data = unsafe { bytes_in(data, len, "data") }?;
        let version = seg.write(data, notify_flag(flags)?)?;
        // SAFETY: per this function's contract.
        unsafe { put(version_out, version) };
        Ok(())
    })
}

/// shmiface_compare_and_set: replaces the value only if its version is
/// `expected_version`, else returns `CONFLICT` and changes nothing. The
/// building block for read-modify-write from any language. `flags` and
/// `version_out` as for `shmiface_set_bytes`. `BAD_HANDLE` if `seg` is not
/// a live handle.
///
/// # Safety
/// As for `shmiface_set_bytes`.
#[no_mangle]
pub unsafe extern "C" fn shmiface_compare_and_set(
    seg: *mut shmiface_segment,
    expected_version: u64,
    data: *const u8,
    len: usize,
    flags: u32,
    version_out: *mut u64,
) -> shmiface_status {
    guard("shmiface_compare_and_set", || {
        // SAFETY: per this function's contract.
        let seg = unsafe { handle(seg, "seg") }?;
        // SAFETY: per this function's contract.
        let data = unsafe { bytes_in(data, len, "data") }?;
        let version = seg.compare_and_set(expected_version, data, notify_flag(flags)?)?;
        // SAFETY: per this function's contract.
        unsafe { put(version_out, version) };
        Ok(())
    })
}

/// shmiface_notify: wakes every waiter without changing the value.
/// `BAD_HANDLE` if `seg` is not a live handle.
///
/// Thread-safety: any thread.
///
/// # Safety
/// `seg` may be any value: NULL returns `NULL_ARGUMENT`, and any other
/// pointer that is not a live handle returns `BAD_HANDLE` (nothing is read
/// through it); no other thread may destroy the handle during the call.
#[no_mangle]
pub unsafe extern "C" fn shmiface_notify(seg: *mut shmiface_segment) -> shmiface_status {
    guard("shmiface_notify", || {
        // SAFETY: per this function's contract.
        unsafe { handle(seg, "seg") }?.notify()
    })
}

/// shmiface_wait: blocks until the segment's notification count differs
/// from `*seen`, then stores the current count in `*seen` and returns `OK`.
///
/// `seen` may be NULL: the handle then keeps its own cursor, which starts
/// at the count when the handle was made. `timeout_ms`: -1 waits forever,
/// 0 polls; below -1 is `INVALID_ARGUMENT`. Returns `TIMEOUT`, or
/// `DESTROYED` when the owner destroys the segment. A spurious wake is
/// never reported as `OK`, and a notification made after `*seen` was read
/// is never missed. `BAD_HANDLE` if `seg` is not a live handle. The waiter
/// spins for a bounded budget first (see `shmiface_set_spin_ns`) and then
/// sleeps in the kernel, re-checking at
/// least every 250 ms (so a notifier killed mid-notify delays it at most that).
/// The budget adapts per segment: waits whose notifications keep coming
/// later than it shrink it (down to 2 µs), one that came soon after the
/// waiter fell asleep grows it back; after 5 µs of spinning the waiter
/// yields its CPU between checks.
///
/// Thread-safety: any number of threads may wait on one handle.
///
/// # Safety
/// `seg` may be any value: NULL returns `NULL_ARGUMENT`, and any other
/// pointer that is not a live handle returns `BAD_HANDLE` (nothing is read
/// through it); no other thread may destroy the handle during the call.
/// `seen` must be NULL or valid for reads and writes.
#[no_mangle]
pub unsafe extern "C" fn shmiface_wait(
    seg: *mut shmiface_segment,
    seen: *mut u64,
    timeout_ms: i64,
) -> shmiface_status {
    guard("shmiface_wait", || {
        // SAFETY: per this function's contract.
        let seg = unsafe { handle(seg, "seg") }?;
        let timeout = timeout_arg(timeout_ms)?;
        // SAFETY: per this function's contract (NULL allowed).
        let seen = unsafe { seen.as_mut() };
        seg.wait(seen, timeout)
    })
}

/// shmiface_get_info: fills `*out` with a snapshot for monitoring.
/// `BAD_HANDLE` if `seg` is not a live handle.
///
/// Thread-safety: any thread.
///
/// # Safety
/// `seg` may be any value: NULL returns `NULL_ARGUMENT`, and any other
/// pointer that is not a live handle returns `BAD_HANDLE` (nothing is read
/// through it); no other thread may destroy the handle during the call.
/// `out` must be NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn shmiface_get_info(
    seg: *const shmiface_segment,
    out: *mut shmiface_info,
) -> shmiface_status {
    guard("shmiface_get_info", || {
        // SAFETY: per this function's contract.
        let seg = unsafe { handle(seg, "seg") }?;
        // SAFETY: per this function's contract.
        let out = unsafe { required_mut(out, "out") }?;
        *out = seg.info()?.into();
        Ok(())
    })
}

/// shmiface_unlink: removes the name `name` (stale-segment cleanup).
/// Existing mappings stay valid. `NOT_FOUND` if there is no such name.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn shmiface_unlink(name: *const c_char) -> shmiface_status {
    guard("shmiface_unlink", || {
        // SAFETY: per this function's contract.
        segment::unlink(unsafe { name_arg(name) }?)
    })
}

/// shmiface_status_str: a static, never-NULL description of any status
/// value, known or not. The caller must not free it.
#[no_mangle]
pub extern "C" fn shmiface_status_str(status: shmiface_status) -> *const c_char {
    status_text(status).as_ptr() as *const c_char
}

/// shmiface_last_error: copies the detail of this thread's last failed
/// call, NUL-terminated and truncated to `buf_len`, and returns its full
/// length (without the NUL). `buf` may be NULL to ask for the length only.
/// The detail is "" before any failure; a successful call leaves it as is.
///
/// # Safety
/// `buf` must be NULL or valid for `buf_len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn shmiface_last_error(buf: *mut c_char, buf_len: usize) -> usize {
    let copied = std::panic::catch_unwind(|| {
        with_last_error(|detail| {
            if !buf.is_null() && buf_len > 0 {
                let n = detail.len().min(buf_len - 1);
                // SAFETY: `buf` is valid for `buf_len` bytes and n < buf_len.
                unsafe {
                    std::ptr::copy_nonoverlapping(detail.as_ptr(), buf as *mut u8, n);
                    *buf.add(n) = 0;
                }
            }
            detail.len()
        })
    });
    copied.unwrap_or(0)
}

/// shmiface_abi_version: the ABI version of the loaded library
/// (`SHMIFACE_ABI_VERSION` of the header it was built with).
#[no_mangle]
pub extern "C" fn shmiface_abi_version() -> u32 {
    SHMIFACE_ABI_VERSION
}

/// shmiface_version: the library's version as a static string, e.g. "0.1.0".
#[no_mangle]
pub extern "C" fn shmiface_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// shmiface_set_spin_ns: sets how long, at most, in nanoseconds, a waiter
/// in this process spins before it sleeps (0: never spin). Spinning turns a
/// wake-up of 5-60 µs into well under 1 µs when a notification comes soon,
/// and costs at most this much CPU per wait when none does (less once the
/// adaptive budget has learnt that notifications come late; see
/// `shmiface_wait`). The default is 50000, or the environment variable
/// `SHMIFACE_SPIN_NS` when set at first use.
///
/// Thread-safety: any thread; applies to waits that start afterwards.
#[no_mangle]
pub extern "C" fn shmiface_set_spin_ns(ns: u64) -> shmiface_status {
    crate::events::set_spin_ns(ns);
    SHMIFACE_OK
}

/// shmiface_spin_ns: the current spin budget of this process, in nanoseconds.
#[no_mangle]
pub extern "C" fn shmiface_spin_ns() -> u64 {
    crate::events::spin_ns()
}
