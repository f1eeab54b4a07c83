//! The export of ABI 1.1's probe: the addresses of the two words a reader
//! can poll, with no call, to learn whether the value it read last is
//! still the current one. As in `ffi/mod.rs`: argument checks, the panic
//! boundary and a status only; the words are `segment.rs`'s.

use std::mem::size_of;

use super::boundary::{guard, handle};
use super::types::{shmiface_segment, shmiface_status};
use crate::error::{Error, ErrorKind};
use crate::layout::SEQ_DESTROYED;

/// Where a segment's version and destroyed mark can be read in place,
/// filled by `shmiface_get_probe`. Read each word with an atomic load
/// (`__atomic_load_n(p, __ATOMIC_ACQUIRE)`) or through a
/// `const volatile uint64_t *`, so that the compiler reads it afresh each
/// time; never write through them.
// The fields are plain `const uint64_t *` rather than `const volatile`:
// cbindgen cannot spell a qualifier Rust has not, and koffi reads each
// field type of shmiface_ffi.h by pattern. The comment above says how to read.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct shmiface_probe {
    /// The version of the segment's current value, as `shmiface_get_bytes`
    /// reports it. Every set changes it, and it only grows while the
    /// handle lives: one version is never the version of two values.
    pub version: *const u64,
    /// A word in which `destroyed_bit` is set once the owner has destroyed
    /// the segment (it is never cleared). Its other bits change too.
    pub state: *const u64,
    /// The bit of `*state` that marks the segment destroyed.
    pub destroyed_bit: u64,
}

/// shmiface_get_probe: fills `*out` with the addresses of the segment's
/// current version and of the word that marks it destroyed, in the
/// mapping, so that a reader who keeps the value it read last (with its
/// version, from `shmiface_next` with `SHMIFACE_LATEST` or
/// `shmiface_get_bytes`) can tell with two loads and no call that it is
/// still current: while `*version` equals the kept version and
/// `*state & destroyed_bit` is 0, the kept value is the segment's value.
/// Anything else: read again with a call (which returns `DESTROYED` once
/// the segment is destroyed).
///
/// `out_size` is the caller's `sizeof(shmiface_probe)`, so the struct can
/// grow: the library writes at most that many bytes, zeroing what it has
/// no value for; a size smaller than ABI 1.1's struct is
/// `INVALID_ARGUMENT`. A destroyed segment still has a probe (its state
/// says destroyed). `BAD_HANDLE` if `seg` is not a live handle.
///
/// Ownership: the addresses point into the mapping of `seg` and belong to
/// the library; they stay valid until `shmiface_destroy` of `seg`, and
/// not in a process forked since (the handle is not live there either).
/// Thread-safety: any thread; the words may be read from any thread, at
/// any time while the handle lives, concurrently with every call.
///
/// # Safety
/// `seg` may be any value: NULL returns `NULL_ARGUMENT`, and any other
/// pointer that is not a live handle returns `BAD_HANDLE` (nothing is read
/// through it); no other thread may destroy the handle during the call.
/// `out` must be NULL or valid for `out_size` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn shmiface_get_probe(
    seg: *const shmiface_segment,
    out: *mut shmiface_probe,
    out_size: usize,
) -> shmiface_status {
    guard("shmiface_get_probe", || {
        // SAFETY: per this function's contract.
        let seg = unsafe { handle(seg, "seg") }?;
        if out.is_null() {
            return Err(Error::new(ErrorKind::NullArgument, "out is NULL"));
        }
        let known = size_of::<shmiface_probe>();
        if out_size < known {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "out_size {out_size} is smaller than the {known} bytes of ABI 1.1's struct"
                ),
            ));
        }
        let (version, state) = seg.probe_words();
        let probe = shmiface_probe {
            version: version.as_ptr().cast_const(),
            state: state.as_ptr().cast_const(),
            destroyed_bit: SEQ_DESTROYED,
        };
        // SAFETY: `out` is valid for `out_size` >= `known` bytes.
        unsafe {
            std::ptr::write_bytes(out as *mut u8, 0, out_size);
            out.write_unaligned(probe);
        }
        Ok(())
    })
}
