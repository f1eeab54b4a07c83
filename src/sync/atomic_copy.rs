//! Byte copies between private memory and a shared slot that another
//! process may be writing at the same moment. A plain `memcpy` there would
//! be a data race (undefined behaviour) in Rust's memory model, so the
//! shared side is touched only through relaxed atomic loads and stores —
//! the same per-word "atomic memcpy" idea as crossbeam's seqlock. The
//! seqlock around the copy decides whether the bytes are kept.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const WORD: usize = std::mem::size_of::<u64>();

/// From this length on, a copy is one `rep movsb`, as glibc's `memcpy`
/// does past its own threshold (2 KiB on the machines measured): on a
/// processor with fast strings (ERMS) the microcode moves whole lines and,
/// for large copies, skips reading destination lines it will overwrite,
/// which no loop of vector stores can. Below it the start-up cost of the
/// string instruction outweighs what it saves.
#[cfg(all(target_arch = "x86_64", not(miri)))]
const BULK_AT_LEAST: usize = 64 * 1024;

/// Whether `len` bytes go through [`bulk`]: long enough, and a processor
/// whose string moves are fast (detected once, then a cached load).
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[inline]
fn is_bulk(len: usize) -> bool {
    len >= BULK_AT_LEAST && std::is_x86_feature_detected!("ermsb")
}

/// Copies `len` bytes with one `rep movsb`. It is an `asm!` block, which
/// the compiler must treat as an unknown operation on both ranges, as for
/// [`store_wide`]: racing a writer (or a reader) of the shared side, it may
/// read or leave bytes half old and half new, which the seqlock around
/// every copy throws away.
///
/// # Safety
/// `src` valid for `len` bytes of reads and `dst` for `len` bytes of
/// writes for the whole call, not overlapping.
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[cold]
unsafe fn bulk(dst: *mut u8, src: *const u8, len: usize) {
    // SAFETY: per the caller; rep movsb moves exactly rcx bytes from rsi to
    // rdi forwards (the direction flag is clear at every Rust call
    // boundary, as the System V ABI requires), clobbering those registers.
    unsafe {
        core::arch::asm!(
            "rep movsb",
            inout("rcx") len => _,
            inout("rsi") src => _,
            inout("rdi") dst => _,
            options(nostack, preserves_flags),
        );
    }
}

// The shared side is touched only in whole, aligned 8-byte words, even for
// a length that is not a multiple of 8: a reader may copy while a writer of
// another length stores, and racing atomic accesses of different sizes to
// the same bytes are not allowed in Rust's memory model (Miri reports them
// as undefined behaviour). Slots are rounded up to whole lines, so the
// last, partial word always lies inside the slot.

/// Copies `len` bytes from the shared `src` into the private `dst`.
///
/// # Safety
/// `src` must be 8-byte aligned and valid for `len` bytes rounded up to a
/// multiple of 8 of reads for the whole call; `dst` must be valid for
/// `len` bytes of writes and not overlap `src`.
pub unsafe fn load(dst: *mut u8, src: *const u8, len: usize) {
    debug_assert_eq!(src as usize % WORD, 0);
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if is_bulk(len) {
        // SAFETY: per the caller (`len` bytes of each).
        return unsafe { bulk(dst, src, len) };
    }
    let shared = src as *const AtomicU64;
    let whole = len / WORD;
    // The whole words in a loop with nothing else in it: this is the hot
    // path of every read, and a word at a time keeps pace with memcpy once
    // the copy is memory-bound.
    for i in 0..whole {
        // SAFETY: in bounds and aligned per the caller; AtomicU64 has the
        // layout of u64, and other processes write this memory only with
        // whole-word atomic stores.
        let w = unsafe { (*shared.add(i)).load(Relaxed) };
        // SAFETY: word `i` lies inside `dst` (i < len / 8); any alignment.
        unsafe { (dst as *mut u64).add(i).write_unaligned(w) };
    }
    let rest = len % WORD;
    if rest != 0 {
        // SAFETY: the last word is in bounds (rounded up) per the caller.
        let w = unsafe { (*shared.add(whole)).load(Relaxed) };
        // SAFETY: the last `rest` bytes of `dst`.
        unsafe {
            std::ptr::copy_nonoverlapping(w.to_ne_bytes().as_ptr(), dst.add(whole * WORD), rest)
        };
    }
}

/// Copies `len` bytes from the private `src` into the shared `dst`; the
/// bytes after `len` in its last word become zero.
///
/// # Safety
/// `dst` must be 8-byte aligned and valid for `len` bytes rounded up to a
/// multiple of 8 of writes for the whole call; `src` must be valid for
/// `len` bytes of reads and not overlap.
pub unsafe fn store(dst: *mut u8, src: *const u8, len: usize) {
    debug_assert_eq!(dst as usize % WORD, 0);
    let shared = dst as *const AtomicU64;
    let whole = len / WORD;
    for i in 0..whole {
        // SAFETY: word `i` lies inside `src` (i < len / 8); any alignment.
        let w = unsafe { (src as *const u64).add(i).read_unaligned() };
        // SAFETY: in bounds and aligned per the caller.
        unsafe { (*shared.add(i)).store(w, Relaxed) };
    }
    let rest = len % WORD;
    if rest != 0 {
        let mut bytes = [0u8; WORD];
        // SAFETY: the last `rest` bytes of `src`.
        unsafe { std::ptr::copy_nonoverlapping(src.add(whole * WORD), bytes.as_mut_ptr(), rest) };
        // SAFETY: the last word is in bounds (rounded up) per the caller.
        unsafe { (*shared.add(whole)).store(u64::from_ne_bytes(bytes), Relaxed) };
    }
}

/// As [`store`], copying the whole 32-byte blocks with 16-byte vector
/// stores. They are made in an `asm!` block, which the compiler must treat
/// as an unknown operation on that memory: it cannot assume anything a
/// plain (non-atomic) Rust write would let it assume, such as that no one
/// reads the bytes concurrently. A reader racing it may see a word half
/// old and half new; the seqlock around every copy throws such a read away,
/// exactly as with the word stores. Twice as few stores as [`store`] make a
/// 128-byte set about 8 ns cheaper.
///
/// # Safety
/// As for [`store`]; `dst` must also be 16-byte aligned.
#[inline]
pub unsafe fn store_wide(dst: *mut u8, src: *const u8, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        debug_assert_eq!(dst as usize % 16, 0);
        #[cfg(not(miri))]
        if is_bulk(len) {
            // SAFETY: per the caller. The bytes after `len` in the last
            // word are left as they were rather than zeroed: no reader
            // copies past the length it read under the seqlock.
            return unsafe { bulk(dst, src, len) };
        }
        let blocks = len / 32;
        if blocks != 0 {
            // SAFETY: `blocks * 32 <= len` bytes of `src` are readable and of
            // `dst` writable per the caller; movups needs no alignment on
            // the source, and xmm0/xmm1 are declared clobbered.
            unsafe {
                core::arch::asm!(
                    "2:",
                    "movups xmm0, [{src}]",
                    "movups xmm1, [{src} + 16]",
                    "movaps [{dst}], xmm0",
                    "movaps [{dst} + 16], xmm1",
                    "add {src}, 32",
                    "add {dst}, 32",
                    "dec {n}",
                    "jnz 2b",
                    src = inout(reg) src => _,
                    dst = inout(reg) dst => _,
                    n = inout(reg) blocks => _,
                    out("xmm0") _,
                    out("xmm1") _,
                    options(nostack),
                );
            }
        }
        let done = blocks * 32;
        // SAFETY: the rest of the same ranges; dst + done stays 8-aligned.
        unsafe { store(dst.add(done), src.add(done), len - done) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: per the caller.
    unsafe {
        store(dst, src, len)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader copying a length another thread is not writing (a reader
    /// overtaken by a writer of another length) must still touch the slot
    /// only with accesses of one size: racing mixed-size atomics are not
    /// allowed in Rust's memory model (Miri reports them).
    #[test]
    fn copies_of_different_lengths_may_race() {
        struct Shared(*mut u8);
        // SAFETY: the buffer outlives both threads and is touched only atomically.
        unsafe impl Send for Shared {}
        let raw = Box::into_raw(Box::new([0u64; 4])) as *mut u8;
        let base = Shared(raw);
        let src = [7u8; 32];
        let writer = std::thread::spawn(move || {
            let base = base;
            for len in [12usize, 5, 31, 1] {
                // SAFETY: 32 aligned bytes, touched only by these copies.
                unsafe { store(base.0, src.as_ptr(), len) };
            }
        });
        let mut dst = [0u8; 32];
        for len in [16usize, 3, 32, 9] {
            // SAFETY: as above.
            unsafe { load(dst.as_mut_ptr(), raw, len) };
        }
        writer.join().unwrap();
        // SAFETY: made by Box::into_raw above; both threads are done with it.
        drop(unsafe { Box::from_raw(raw as *mut [u64; 4]) });
        assert!(dst.iter().all(|&b| b == 0 || b == 7));
    }

    /// Stores `src[offset..]` at `base` both ways (word and wide stores)
    /// and loads it back into a private buffer at the same offset.
    ///
    /// # Safety
    /// `base` is line-aligned with room for `src.len() - offset` bytes.
    unsafe fn round_trip(base: *mut u8, src: &[u8], offset: usize) {
        let len = src.len() - offset;
        for wide in [false, true] {
            let mut back = vec![0u8; src.len()];
            // SAFETY: the caller's room at `base`; the private buffers
            // hold `len + offset` bytes.
            unsafe {
                if wide {
                    store_wide(base, src.as_ptr().add(offset), len);
                } else {
                    store(base, src.as_ptr().add(offset), len);
                }
                load(back.as_mut_ptr().add(offset), base, len);
            }
            assert!(
                back[offset..] == src[offset..],
                "len {len} offset {offset} wide {wide}"
            );
        }
    }

    #[test]
    fn round_trips_every_length_and_alignment() {
        #[repr(align(64))]
        struct Line([u64; 64]);
        let mut shared = Box::new(Line([0; 64]));
        let base = shared.0.as_mut_ptr() as *mut u8;
        for len in 0..=200usize {
            for offset in 0..8usize {
                let src: Vec<u8> = (0..len + offset).map(|i| (i * 7 + len) as u8).collect();
                // SAFETY: `shared` holds 512 bytes, aligned to 64, more
                // than `len`.
                unsafe { round_trip(base, &src, offset) };
            }
        }
    }

    /// Copies long enough for the string move, at every alignment of the
    /// private side and lengths that are not whole words.
    #[test]
    fn round_trips_long_copies() {
        #[derive(Clone, Copy)]
        #[repr(align(64))]
        struct Line(#[allow(dead_code)] [u64; 8]);
        let mut shared = vec![Line([0; 8]); (1 << 17) / 64 + 1];
        let base = shared.as_mut_ptr() as *mut u8;
        for len in [(1 << 16) - 1, 1 << 16, (1 << 16) + 1, (1 << 17) + 13] {
            for offset in [0usize, 3, 8] {
                let src: Vec<u8> = (0..len + offset).map(|i| (i * 13 + len) as u8).collect();
                // SAFETY: `shared` holds 2^17 + 64 line-aligned bytes,
                // more than `len` rounded up.
                unsafe { round_trip(base, &src, offset) };
            }
        }
    }
}
