//! Waiting for a notification in slices, for `wait` and `watch`, so that
//! between slices they can say when the segment's owner is dead (a waiter
//! would otherwise block with no word of why nothing comes) and `watch`
//! can see a termination signal.
//!
//! An owner's death does not end the wait: any process attached to the
//! segment may still notify, and a new owner may take it over. So it is
//! said once per death, on standard error, and the wait goes on.

use std::time::{Duration, Instant};

use shmiface::Segment;

use crate::render;

/// The longest one slice blocks in the library.
pub const SLICE: Duration = Duration::from_millis(200);

/// How one slice ended.
pub enum Slice {
    Notified,
    /// This slice ran out; the deadline, if any, has not.
    Quiet,
    /// The deadline passed with no notification.
    TimedOut,
}

/// A wait on one segment, from the notification count at its start.
pub struct Waiter<'a> {
    seg: &'a Segment,
    name: &'a str,
    seen: u64,
    deadline: Option<Instant>,
    /// The pid of the dead owner last reported, so each death is said once.
    reported: Option<i32>,
}

impl<'a> Waiter<'a> {
    pub fn new(seg: &'a Segment, name: &'a str, timeout: Option<Duration>) -> Waiter<'a> {
        Waiter {
            seg,
            name,
            seen: seg.notify_count(),
            deadline: timeout.map(|t| Instant::now() + t),
            reported: None,
        }
    }

    /// Says so on standard error when the owner is dead (once per owner).
    pub fn check_owner(&mut self) -> shmiface::Result<()> {
        let info = self.seg.info()?;
        if info.owner_alive || info.destroyed {
            self.reported = None;
        } else if self.reported != Some(info.owner_pid) {
            self.reported = Some(info.owner_pid);
            render::note(
                self.name,
                &format!(
                    "its owner (pid {}) is dead; still waiting, as another process \
                     attached to it may notify",
                    info.owner_pid
                ),
            );
        }
        Ok(())
    }

    /// Waits one slice (cut at the deadline). The cursor carries over
    /// between slices, so no notification falls between two of them.
    pub fn slice(&mut self) -> shmiface::Result<Slice> {
        self.check_owner()?;
        let step = match self.deadline {
            None => SLICE,
            Some(deadline) => SLICE.min(deadline.saturating_duration_since(Instant::now())),
        };
        match self.seg.wait(Some(&mut self.seen), Some(step)) {
            Ok(()) => Ok(Slice::Notified),
            Err(e) if e.kind() == shmiface::ErrorKind::Timeout => {
                let over = self.deadline.is_some_and(|d| Instant::now() >= d);
                Ok(if over { Slice::TimedOut } else { Slice::Quiet })
            }
            Err(e) => Err(e),
        }
    }
}
