//! The bytes of a segment, as `#[repr(C)]` structs. Every process maps the
//! same object, so every size and offset here is pinned by an assertion:
//! changing one means a new `LAYOUT_VERSION`.
//!
//! ```text
//! offset 0    Identity   magic, version, sizes, state, owner   (1 line)
//! offset 64   WriterLock robust process-shared pthread mutex    (1 line)
//! offset 128  Events     notification sequence (futex word)     (1 line)
//! offset 192  Published  which slot holds the current value     (1 line)
//! offset 256  slot 0     SlotHeader (1 line) + capacity bytes, rounded up to a line
//!             slot 1     the same
//! ```
//!
//! This file holds no behaviour; the `sync` modules and `segment.rs` act on it.

use std::cell::UnsafeCell;
use std::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64};

use static_assertions::const_assert;
use static_assertions::const_assert_eq;

pub const MAGIC: [u8; 8] = *b"SHMIFACE";
pub const LAYOUT_VERSION: u32 = 1;
pub const LINE: usize = 64;
/// The largest value a segment may hold (1 GiB; the object is twice that).
pub const MAX_CAPACITY: u64 = 1 << 30;
pub const DEFAULT_CAPACITY: u64 = 128;

/// `Identity::state`: INITIALISING (0) until every field is written, then
/// set once to READY, and DESTROYED at the end.
pub const STATE_INITIALISING: u32 = 0;
pub const STATE_READY: u32 = 1;
pub const STATE_DESTROYED: u32 = 2;

/// `Identity::flags`: the owner's destroy leaves the object in place.
pub const FLAG_PERSISTENT: u32 = 1;

/// `Events::seq` = notifications << 1 | destroyed bit, so one atomic word
/// (and its low half, the futex word) changes on every event a waiter
/// must see.
pub const SEQ_DESTROYED: u64 = 1;
pub const SEQ_NOTIFY_STEP: u64 = 2;

#[repr(C, align(64))]
pub struct Identity {
    /// Written first during creation: with `state` still INITIALISING it
    /// marks a segment being created (whose other fields are not yet
    /// trusted); `state` becomes READY last, once every field is valid.
    pub magic: [u8; 8],
    pub layout_version: u32,
    pub header_size: u32,
    pub capacity: u64,
    pub total_size: u64,
    pub slot_stride: u64,
    pub created_unix_ns: u64,
    pub state: AtomicU32,
    pub flags: AtomicU32,
    /// The pid that created or last took over the segment (informational:
    /// liveness comes from the owner's record lock, never from this pid).
    pub owner_pid: AtomicI32,
    /// Times a writer found the lock's holder dead (EOWNERDEAD) and recovered.
    pub lock_recoveries: AtomicU32,
}

#[repr(C, align(64))]
pub struct WriterLock {
    pub mutex: UnsafeCell<libc::pthread_mutex_t>,
}

#[repr(C, align(64))]
pub struct Events {
    pub seq: AtomicU64,
    /// Threads inside FUTEX_WAIT now; `notify` skips the syscall when 0.
    pub sleepers: AtomicU32,
    /// Threads inside `wait` now (spinning or sleeping), for `get_info`.
    pub waiters: AtomicU32,
}

#[repr(C, align(64))]
pub struct Published {
    /// version << 1 | slot index of the latest complete value.
    pub current: AtomicU64,
}

#[repr(C)]
pub struct Header {
    pub identity: Identity,
    pub lock: WriterLock,
    pub events: Events,
    pub published: Published,
}

/// Precedes each slot's bytes. `seq` is odd while a writer fills the slot.
#[repr(C, align(64))]
pub struct SlotHeader {
    pub seq: AtomicU64,
    pub len: AtomicU64,
    pub version: AtomicU64,
}

pub const HEADER_SIZE: usize = size_of::<Header>();
pub const SLOT_HEADER_SIZE: usize = size_of::<SlotHeader>();

const_assert_eq!(HEADER_SIZE, 256);
const_assert_eq!(size_of::<Identity>(), LINE);
const_assert_eq!(offset_of!(Identity, state), 48);
const_assert_eq!(offset_of!(Header, lock), 64);
const_assert_eq!(offset_of!(Header, events), 128);
const_assert_eq!(offset_of!(Header, published), 192);
const_assert_eq!(SLOT_HEADER_SIZE, LINE);
const_assert!(size_of::<libc::pthread_mutex_t>() <= LINE);

/// Bytes from one slot's start to the next: a header line plus the data
/// rounded up to whole lines, so each slot starts on its own line.
pub const fn slot_stride(capacity: u64) -> u64 {
    SLOT_HEADER_SIZE as u64 + capacity.div_ceil(LINE as u64) * LINE as u64
}

/// The object's exact size for a capacity.
pub const fn total_size(capacity: u64) -> u64 {
    HEADER_SIZE as u64 + 2 * slot_stride(capacity)
}

/// Packs/unpacks `Published::current`.
pub const fn publish_word(version: u64, slot: u64) -> u64 {
    (version << 1) | (slot & 1)
}

pub const fn published_slot(word: u64) -> usize {
    (word & 1) as usize
}

pub const fn published_version(word: u64) -> u64 {
    word >> 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_capacity() {
        assert_eq!(slot_stride(1), 128);
        assert_eq!(slot_stride(64), 128);
        assert_eq!(slot_stride(65), 192);
        assert_eq!(total_size(128), 256 + 2 * 192);
    }

    #[test]
    fn publish_word_round_trips() {
        let w = publish_word(12345, 1);
        assert_eq!(published_slot(w), 1);
        assert_eq!(published_version(w), 12345);
    }
}
