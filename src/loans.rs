//! Zero-copy writes: a loan is a claim on the next version's slot, handed
//! to the caller to fill in place and then publish or discard. The claim
//! holds the writer lock between calls, so it is kept here, per thread:
//! the thread that took a loan is the one that ends it, and any call of
//! that thread that would wait for the same lock is refused (`Busy`)
//! instead of waiting for itself for ever.

use std::cell::RefCell;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::events;
use crate::mapping::Mapping;
use crate::value::{self, Claim};

struct Open {
    /// Keeps the mapping (and so the lock word the claim holds) alive.
    map: Arc<Mapping>,
    claim: Claim,
}

thread_local! {
    static OPEN: RefCell<Vec<Open>> = const { RefCell::new(Vec::new()) };
}

/// Whether this thread holds an open loan on `m`.
pub fn held_here(m: &Mapping) -> bool {
    OPEN.with(|open| open.borrow().iter().any(|o| std::ptr::eq(&*o.map, m)))
}

fn take(m: &Mapping) -> Option<Open> {
    OPEN.with(|open| {
        let mut open = open.borrow_mut();
        let at = open.iter().position(|o| std::ptr::eq(&*o.map, m))?;
        Some(open.swap_remove(at))
    })
}

fn no_loan(m: &Mapping, what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!(
            "{what}: this thread holds no open loan on {}",
            m.name().as_str()
        ),
    )
}

/// Takes the writer lock and lends the next version's slot: its address
/// (aligned to 64) and capacity.
pub fn loan(map: &Arc<Mapping>) -> Result<(*mut u8, usize)> {
    if held_here(map) {
        return Err(Error::new(
            ErrorKind::Busy,
            format!(
                "this thread already holds an open loan on {}",
                map.name().as_str()
            ),
        ));
    }
    let claim = value::claim(map, None)?;
    let data = claim.data;
    OPEN.with(|open| {
        open.borrow_mut().push(Open {
            map: Arc::clone(map),
            claim,
        })
    });
    Ok((data, map.geometry().capacity as usize))
}

/// Publishes the first `len` bytes of this thread's loan on `m`.
pub fn publish(m: &Mapping, len: usize, notify: bool) -> Result<u64> {
    let open = take(m).ok_or_else(|| no_loan(m, "publishing"))?;
    let capacity = m.geometry().capacity;
    if len as u64 > capacity {
        let error = value::too_large(m, len, capacity);
        OPEN.with(|o| o.borrow_mut().push(open));
        return Err(error);
    }
    if let Err(destroyed) = m.not_destroyed() {
        value::abandon(m, open.claim);
        return Err(destroyed);
    }
    let version = value::finish(m, open.claim, len);
    if notify {
        events::notify(m)?;
    }
    Ok(version)
}

/// Ends this thread's loan on `m` without publishing anything.
pub fn discard(m: &Mapping) -> Result<()> {
    let open = take(m).ok_or_else(|| no_loan(m, "discarding"))?;
    value::abandon(m, open.claim);
    Ok(())
}
