//! The exports of ABI 1.1's streams: creation with history (extensible
//! options), `next`, zero-copy loans and borrows, and the extended info.
//! As in `ffi/mod.rs`: argument checks, the panic boundary and statuses
//! only; the logic lives in `segment.rs`, `value.rs` and `loans.rs`.

use std::ffi::c_char;
use std::mem::size_of;

use super::boundary::{
    bytes_out, guard, handle, name_arg, put, required_mut, timeout_arg, with_len_out,
};
use super::types::{shmiface_info, shmiface_segment, shmiface_status};
use super::{handles, notify_flag, options_from};
use crate::error::{Error, ErrorKind, Result};
use crate::segment::{Info, Segment};

/// `*version` for `shmiface_next` and `shmiface_borrow`: the current value,
/// without waiting (the way to start reading from now).
pub const SHMIFACE_LATEST: u64 = u64::MAX;
/// The most values a segment keeps (`shmiface_create_options.history`).
pub const SHMIFACE_MAX_HISTORY: u32 = 65_536;

static_assertions::const_assert_eq!(SHMIFACE_LATEST, crate::value::LATEST);
static_assertions::const_assert_eq!(SHMIFACE_MAX_HISTORY, crate::layout::MAX_HISTORY);

/// How `shmiface_create` makes a segment. All-zero means every default.
/// Pass `sizeof(shmiface_create_options)` as `options_size`, so the struct
/// can grow: a newer library reads what it knows of an older struct.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct shmiface_create_options {
    /// As `shmiface_options.capacity`: bytes one value may hold; 0 means 128.
    pub capacity: u64,
    /// As `shmiface_options.mode`: permission bits; 0 means 0600.
    pub mode: u32,
    /// As `shmiface_options.flags`: `SHMIFACE_PERSISTENT` or 0.
    pub flags: u32,
    /// Values kept readable; 0 means 1; at most `SHMIFACE_MAX_HISTORY`.
    pub history: u32,
    /// Must be 0.
    pub reserved: u32,
}

/// `shmiface_get_info`'s snapshot, with the history's figures.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct shmiface_info_ex {
    /// As `shmiface_get_info`.
    pub info: shmiface_info,
    /// Values kept readable.
    pub history: u32,
    /// Always 0.
    pub reserved: u32,
    /// The oldest version still readable; 0 if never set.
    pub oldest_version: u64,
}

impl From<Info> for shmiface_info_ex {
    fn from(i: Info) -> Self {
        shmiface_info_ex {
            history: i.history,
            reserved: 0,
            oldest_version: i.oldest_version,
            info: i.into(),
        }
    }
}

/// The options a caller passed, by the openat2 rule: at least the 1.1
/// struct, and any bytes past what this library knows all zero.
///
/// # Safety
/// A non-NULL `raw` must be valid for `size` bytes of reads.
unsafe fn create_options(
    raw: *const shmiface_create_options,
    size: usize,
) -> Result<crate::segment::Options> {
    let known = size_of::<shmiface_create_options>();
    let o = if raw.is_null() {
        shmiface_create_options::default()
    } else {
        if size < known {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "options_size {size} is smaller than the {known} bytes of ABI 1.1's options"
                ),
            ));
        }
        // SAFETY: `raw` is valid for `size` >= `known` bytes per the caller.
        let extra =
            unsafe { std::slice::from_raw_parts((raw as *const u8).add(known), size - known) };
        if let Some(at) = extra.iter().position(|&b| b != 0) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "byte {} of the options is not zero, and this library knows only {known}",
                    known + at
                ),
            ));
        }
        // SAFETY: as above; the struct is plain data, any bytes are valid.
        unsafe { raw.read_unaligned() }
    };
    if o.reserved != 0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("options.reserved is {}, not 0", o.reserved),
        ));
    }
    let mut options = options_from(Some(&super::shmiface_options {
        capacity: o.capacity,
        mode: o.mode,
        flags: o.flags,
    }))?;
    options.history = o.history.max(1);
    Ok(options)
}

/// shmiface_create: `shmiface_init_instance` with the options of ABI 1.1,
/// among them `history`, the number of values the segment keeps readable.
///
/// `options` may be NULL (every default); else `options_size` is the
/// caller's `sizeof(shmiface_create_options)`: smaller than ABI 1.1's
/// struct, or larger with any unknown byte not zero, is `INVALID_ARGUMENT`,
/// and so are `reserved` not 0, a history over `SHMIFACE_MAX_HISTORY`, and
/// a segment over 64 GiB. A takeover keeps the kept values when capacity
/// and history both match. Otherwise exactly `shmiface_init_instance`.
///
/// Ownership: on success `*out` receives a new handle that the caller
/// releases with `shmiface_destroy`. Thread-safety: any thread.
///
/// # Safety
/// `name` must be NULL or NUL-terminated; `options` NULL or valid for
/// `options_size` bytes of reads; `out` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn shmiface_create(
    name: *const c_char,
    options: *const shmiface_create_options,
    options_size: usize,
    out: *mut *mut shmiface_segment,
) -> shmiface_status {
    guard("shmiface_create", || {
        // SAFETY: per this function's contract.
        let name = unsafe { name_arg(name) }?;
        // SAFETY: per this function's contract.
        let out = unsafe { required_mut(out, "out") }?;
        // SAFETY: per this function's contract.
        let options = unsafe { create_options(options, options_size) }?;
        *out = handles::insert(|| Segment::create(name, &options))?;
        Ok(())
    })
}

/// shmiface_next: copies the oldest kept value whose version is greater
/// than `*version` into `buf`, its length into `*len_out` (may be NULL) and
/// its version into `*version`.
///
/// `*version` is the version the caller read last (0 before the first
/// read). A returned version more than `old + 1` means the values between
/// were overwritten unread: the caller lost exactly `new - old - 1`. With
/// no such value yet it waits up to `timeout_ms` (-1 forever, 0 poll) for
/// the next set, notified or not: `TIMEOUT`, or `DESTROYED`.
/// `*version == SHMIFACE_LATEST` reads the current value (version 0, empty,
/// on a segment never set) without waiting. `BUFFER_TOO_SMALL` writes
/// `*len_out` and leaves `*version` alone. Never torn, never a value that
/// was not set, and the versions returned to one caller only grow.
///
/// Thread-safety: any thread; readers register nowhere and never block
/// writers.
///
/// # Safety
/// `seg` NULL or a handle; `version` NULL or valid for reads and writes;
/// `buf` valid for `buf_len` bytes of writes; `len_out` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn shmiface_next(
    seg: *const shmiface_segment,
    version: *mut u64,
    buf: *mut u8,
    buf_len: usize,
    len_out: *mut usize,
    timeout_ms: i64,
) -> shmiface_status {
    guard("shmiface_next", || {
        // SAFETY: per this function's contract.
        let seg = unsafe { handle(seg, "seg") }?;
        // SAFETY: per this function's contract.
        let version = unsafe { required_mut(version, "version") }?;
        // SAFETY: per this function's contract.
        let buf = unsafe { bytes_out(buf, buf_len, "buf") }?;
        let timeout = timeout_arg(timeout_ms)?;
        // SAFETY: per this function's contract.
        let s = unsafe { with_len_out(len_out, seg.next_into(*version, buf, timeout)) }?;
        *version = s.version;
        Ok(())
    })
}

/// shmiface_loan: takes the writer lock and lends the slot the next value
/// will occupy: `*data` points at `*capacity_out` writable bytes in shared
/// memory, aligned to 64. Fill them in place, then `shmiface_publish` (or
/// `shmiface_discard`) from the same thread. Readers never see a loaned
/// slot before it is published; other writers wait meanwhile, so keep it
/// short. Any call of this thread that would wait for this segment's
/// writer lock returns `BUSY` until then. A process that dies holding a
/// loan publishes nothing, and the next writer takes the lock over.
///
/// Ownership: the bytes belong to the segment; they are valid until the
/// loan ends. Thread-safety: one open loan per thread and segment.
///
/// # Safety
/// `seg` NULL or a handle; `data` and `capacity_out` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn shmiface_loan(
    seg: *mut shmiface_segment,
    data: *mut *mut u8,
    capacity_out: *mut usize,
) -> shmiface_status {
    guard("shmiface_loan", || {
        // SAFETY: per this function's contract.
        let seg = unsafe { handle(seg, "seg") }?;
        // SAFETY: per this function's contract.
        let data = unsafe { required_mut(data, "data") }?;
        // SAFETY: per this function's contract.
        let capacity_out = unsafe { required_mut(capacity_out, "capacity_out") }?;
        let (ptr, capacity) = seg.loan()?;
        *data = ptr;
        *capacity_out = capacity;
        Ok(())
    })
}

/// shmiface_publish: makes the first `len` bytes of this thread's loan on
/// the segment the new value (`flags`: 0 or `SHMIFACE_SET_NOTIFY`) and
/// releases the writer lock; `*version_out` (may be NULL) gets its version.
/// No open loan of this thread: `INVALID_ARGUMENT`; `len` over the
/// capacity: `TOO_LARGE`, and the loan stays open.
///
/// # Safety
/// `seg` NULL or a handle; `version_out` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn shmiface_publish(
    seg: *mut shmiface_segment,
    len: usize,
    flags: u32,
    version_out: *mut u64,
) -> shmiface_status {
    guard("shmiface_publish", || {
        // SAFETY: per this function's contract.
        let seg = unsafe { handle(seg, "seg") }?;
        let notify = notify_flag(flags)?;
        let version = seg.publish(len, notify)?;
        // SAFETY: per this function's contract.
        unsafe { put(version_out, version) };
        Ok(())
    })
}

/// shmiface_discard: ends this thread's loan on the segment, publishing
/// nothing, and releases the writer lock. No open loan: `INVALID_ARGUMENT`.
///
/// # Safety
/// `seg` must be NULL or a handle.
#[no_mangle]
pub unsafe extern "C" fn shmiface_discard(seg: *mut shmiface_segment) -> shmiface_status {
    guard("shmiface_discard", || {
        // SAFETY: per this function's contract.
        unsafe { handle(seg, "seg") }?.discard()
    })
}

/// shmiface_borrow: chooses a value by the rule of `shmiface_next`
/// (`*version`, `SHMIFACE_LATEST`, waiting and timeouts alike) and, instead
/// of copying it, points `*data` at its `*len_out` bytes in shared memory
/// and stores its version in `*version`. Nothing is locked: writers may
/// overwrite the value, though it stays intact at least until `history`
/// newer values have been set; `shmiface_release` says whether it was.
///
/// Ownership: the bytes belong to the segment and stay mapped until the
/// handle is destroyed. Thread-safety: any thread, any number of borrows.
///
/// # Safety
/// `seg` NULL or a handle; `version` NULL or valid for reads and writes;
/// `data` and `len_out` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn shmiface_borrow(
    seg: *const shmiface_segment,
    version: *mut u64,
    data: *mut *const u8,
    len_out: *mut usize,
    timeout_ms: i64,
) -> shmiface_status {
    guard("shmiface_borrow", || {
        // SAFETY: per this function's contract.
        let seg = unsafe { handle(seg, "seg") }?;
        // SAFETY: per this function's contract.
        let version = unsafe { required_mut(version, "version") }?;
        // SAFETY: per this function's contract.
        let data = unsafe { required_mut(data, "data") }?;
        let timeout = timeout_arg(timeout_ms)?;
        let b = seg.borrow(*version, timeout)?;
        *data = b.data;
        // SAFETY: per this function's contract.
        unsafe { put(len_out, b.len) };
        *version = b.version;
        Ok(())
    })
}

/// shmiface_release: `OK` if every byte read through the borrow of
/// `version` since `shmiface_borrow` belonged to that version;
/// `OVERWRITTEN` if a writer overwrote it meanwhile (throw the result
/// away, and perhaps borrow again). Releasing a version that is not
/// borrowed is harmless and answers by the same rule.
///
/// # Safety
/// `seg` must be NULL or a handle.
#[no_mangle]
pub unsafe extern "C" fn shmiface_release(
    seg: *const shmiface_segment,
    version: u64,
) -> shmiface_status {
    guard("shmiface_release", || {
        // SAFETY: per this function's contract.
        unsafe { handle(seg, "seg") }?.release(version)
    })
}

/// shmiface_get_info_ex: `shmiface_get_info` with the history's figures.
/// `out_size` is the caller's `sizeof(shmiface_info_ex)`: the library
/// writes at most that many bytes, zeroing what it has no value for; a
/// size smaller than ABI 1.1's struct is `INVALID_ARGUMENT`.
///
/// # Safety
/// `seg` NULL or a handle; `out` NULL or valid for `out_size` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn shmiface_get_info_ex(
    seg: *const shmiface_segment,
    out: *mut shmiface_info_ex,
    out_size: usize,
) -> shmiface_status {
    guard("shmiface_get_info_ex", || {
        // SAFETY: per this function's contract.
        let seg = unsafe { handle(seg, "seg") }?;
        if out.is_null() {
            return Err(Error::new(ErrorKind::NullArgument, "out is NULL"));
        }
        let known = size_of::<shmiface_info_ex>();
        if out_size < known {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "out_size {out_size} is smaller than the {known} bytes of ABI 1.1's struct"
                ),
            ));
        }
        let info: shmiface_info_ex = seg.info()?.into();
        // SAFETY: `out` is valid for `out_size` >= `known` bytes.
        unsafe {
            std::ptr::write_bytes(out as *mut u8, 0, out_size);
            out.write_unaligned(info);
        }
        Ok(())
    })
}
