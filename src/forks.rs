//! The process's fork epoch: how many times this process image has been
//! forked into a child (as seen from the child). A handle records the epoch
//! it was made in; one made in another epoch was copied from a parent by
//! `fork` and is refused (`SHMIFACE_ERR_BAD_HANDLE`).

use std::sync::atomic::{AtomicU32, Ordering};

static EPOCH: AtomicU32 = AtomicU32::new(0);

/// The current fork epoch (0 in a process that was never forked from a
/// process using this library).
#[inline(always)]
pub fn epoch() -> u32 {
    EPOCH.load(Ordering::Relaxed)
}

/// Starts a new epoch: called in the child after `fork`.
#[allow(dead_code)] // called by the fork handler and the tests
pub(crate) fn bump() {
    EPOCH.fetch_add(1, Ordering::Relaxed);
}
