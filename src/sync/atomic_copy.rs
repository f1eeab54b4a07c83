//! Byte copies between private memory and a shared slot that another
//! process may be writing at the same moment. A plain `memcpy` there would
//! be a data race (undefined behaviour) in Rust's memory model, so the
//! shared side is touched only through relaxed atomic loads and stores —
//! the same per-word "atomic memcpy" idea as crossbeam's seqlock. The
//! seqlock around the copy decides whether the bytes are kept.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};

const WORD: usize = std::mem::size_of::<u64>();

/// Copies `len` bytes from the shared `src` into the private `dst`.
///
/// # Safety
/// `src` must be 8-byte aligned and valid for `len` bytes of reads for the
/// whole call; `dst` must be valid for `len` bytes of writes and not
/// overlap `src`.
pub unsafe fn load(dst: *mut u8, src: *const u8, len: usize) {
    debug_assert_eq!(src as usize % WORD, 0);
    let words = len / WORD;
    for i in 0..words {
        // SAFETY: in bounds and aligned per the caller; AtomicU64 has the
        // layout of u64, and other processes write this memory only atomically.
        let w = unsafe { (*(src.add(i * WORD) as *const AtomicU64)).load(Relaxed) };
        // SAFETY: in bounds per the caller; `dst` may be unaligned.
        unsafe { (dst.add(i * WORD) as *mut u64).write_unaligned(w) };
    }
    for i in words * WORD..len {
        // SAFETY: in bounds per the caller.
        unsafe { *dst.add(i) = (*(src.add(i) as *const AtomicU8)).load(Relaxed) };
    }
}

/// Copies `len` bytes from the private `src` into the shared `dst`.
///
/// # Safety
/// `dst` must be 8-byte aligned and valid for `len` bytes of writes for the
/// whole call; `src` must be valid for `len` bytes of reads and not overlap.
pub unsafe fn store(dst: *mut u8, src: *const u8, len: usize) {
    debug_assert_eq!(dst as usize % WORD, 0);
    let words = len / WORD;
    for i in 0..words {
        // SAFETY: in bounds per the caller; `src` may be unaligned.
        let w = unsafe { (src.add(i * WORD) as *const u64).read_unaligned() };
        // SAFETY: in bounds and aligned per the caller.
        unsafe { (*(dst.add(i * WORD) as *const AtomicU64)).store(w, Relaxed) };
    }
    for i in words * WORD..len {
        // SAFETY: in bounds per the caller.
        unsafe { (*(dst.add(i) as *const AtomicU8)).store(*src.add(i), Relaxed) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length_and_alignment() {
        let mut shared = vec![0u64; 64];
        let base = shared.as_mut_ptr() as *mut u8;
        for len in 0..=200usize {
            for offset in 0..8usize {
                let src: Vec<u8> = (0..len + offset).map(|i| (i * 7 + len) as u8).collect();
                let mut back = vec![0u8; len + offset];
                // SAFETY: `shared` holds 512 bytes, aligned to 8; the private
                // buffers hold `len + offset` bytes.
                unsafe {
                    store(base, src.as_ptr().add(offset), len);
                    load(back.as_mut_ptr().add(offset), base, len);
                }
                assert_eq!(&back[offset..], &src[offset..], "len {len} offset {offset}");
            }
        }
    }
}
