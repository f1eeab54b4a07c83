//! The bytes of a segment, as `#[repr(C)]` structs. Every process maps the
//! same object, so every size and offset here is pinned by an assertion:
//! changing one means a new `LAYOUT_VERSION`.
//!
//! ```text
//! offset 0    Identity    magic, version, sizes, state, owner, history  (2 lines)
//! offset 128  WriterLock  the lock word naming its holder, registrations (1 line)
//! offset 192  Events      notification sequence (futex word), counts     (1 line)
//! offset 256  Published   the version of the latest complete value       (1 line)
//! offset 320  slot 0      SlotHeader (1 line) + capacity bytes, rounded up to a line
//!             slot 1 ...  `history + 1` slots in all; version v lives in slot v % slots
//! ```
//!
//! Nothing here is a pointer of any process: a peer that scribbles on the
//! segment can corrupt values, never another process's private memory.
//! This file holds no behaviour; the `sync` modules and `segment.rs` act on it.

use std::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64};

use static_assertions::const_assert;
use static_assertions::const_assert_eq;

pub const MAGIC: [u8; 8] = *b"SHMIFACE";
/// 2: a lock word instead of a robust pthread mutex, the published word is
/// a bare version (its slot is `version % slots`), and the header says how
/// many values it keeps.
pub const LAYOUT_VERSION: u32 = 2;
pub const LINE: usize = 64;
/// The largest value a segment may hold (1 GiB).
pub const MAX_CAPACITY: u64 = 1 << 30;
pub const DEFAULT_CAPACITY: u64 = 128;
/// The most values a segment keeps readable.
pub const MAX_HISTORY: u32 = 65_536;
/// The largest object a segment may be (64 GiB).
pub const MAX_TOTAL: u64 = 64 << 30;

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
    /// liveness comes from the owner's lock, never from this pid).
    pub owner_pid: AtomicI32,
    /// Times a writer found the lock's holder dead and took the lock over.
    pub lock_recoveries: AtomicU32,
    /// Values kept readable; the segment has `history + 1` slots.
    pub history: u32,
    pub reserved: [u32; 15],
}

#[repr(C, align(64))]
pub struct WriterLock {
    /// 0 when free, else the holder's registration (see `sync::writer_lock`),
    /// with the top bit set while others wait for it.
    pub word: AtomicU32,
    /// The next registration to hand out. It only grows: a registration
    /// named in the lock word is never reused by a live process.
    pub next_registration: AtomicU32,
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
    /// The version of the latest complete value; it lives in slot
    /// `version % slots`.
    pub current: AtomicU64,
}

#[repr(C)]
pub struct Header {
    pub identity: Identity,
    pub lock: WriterLock,
    pub events: Events,
    pub published: Published,
}

/// Precedes each slot's bytes. `seq` is odd while a writer fills the slot;
/// `version` says which value the slot holds, so a reader can tell a slot
/// reused since it chose it (or filled by a writer that died before
/// publishing) from the value it wanted.
#[repr(C, align(64))]
pub struct SlotHeader {
    pub seq: AtomicU64,
    pub len: AtomicU64,
    pub version: AtomicU64,
}

pub const IDENTITY_SIZE: usize = size_of::<Identity>();
pub const HEADER_SIZE: usize = size_of::<Header>();
pub const SLOT_HEADER_SIZE: usize = size_of::<SlotHeader>();

const_assert_eq!(IDENTITY_SIZE, 2 * LINE);
const_assert_eq!(HEADER_SIZE, 320);
const_assert_eq!(offset_of!(Identity, state), 48);
const_assert_eq!(offset_of!(Identity, history), 64);
const_assert_eq!(offset_of!(Header, lock), 128);
const_assert_eq!(offset_of!(Header, events), 192);
const_assert_eq!(offset_of!(Header, published), 256);
const_assert_eq!(SLOT_HEADER_SIZE, LINE);
const_assert!(MAX_CAPACITY <= MAX_TOTAL);

/// Bytes from one slot's start to the next: a header line plus the data
/// rounded up to whole lines, so each slot starts on its own line.
pub const fn slot_stride(capacity: u64) -> u64 {
    SLOT_HEADER_SIZE as u64 + capacity.div_ceil(LINE as u64) * LINE as u64
}

/// The object's exact size for a capacity and history, None past 64 GiB.
pub const fn total_size(capacity: u64, history: u32) -> Option<u64> {
    let slots = history as u64 + 1;
    match slot_stride(capacity).checked_mul(slots) {
        Some(s) if s <= MAX_TOTAL - HEADER_SIZE as u64 => Some(HEADER_SIZE as u64 + s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_capacity_and_history() {
        assert_eq!(slot_stride(1), 128);
        assert_eq!(slot_stride(64), 128);
        assert_eq!(slot_stride(65), 192);
        assert_eq!(total_size(128, 1), Some(320 + 2 * 192));
        assert_eq!(total_size(128, 3), Some(320 + 4 * 192));
        assert_eq!(total_size(MAX_CAPACITY, MAX_HISTORY), None);
    }
}
