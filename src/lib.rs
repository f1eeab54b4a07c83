//! shmiface: a named value in POSIX shared memory, shared live between
//! processes in any language, with notifications, behind a small C ABI.
//!
//! The map of the crate (data flows down this list and back):
//! - `ffi`: the `extern "C"` surface only: argument checks, the panic
//!   boundary, status codes, the last-error detail. Types in `ffi::types`.
//! - `segment`: the safe Rust API: create, attach, take over, destroy, and
//!   every operation of a handle.
//! - `value`: the slots and seqlock that keep readers lock-free and untorn.
//! - `events`: notify and wait (futex, bounded spin, no lost wake-ups).
//! - `loans`: zero-copy writes, a claim on the next slot held between calls.
//! - `mapping`: one mapped object, its checked geometry, header checks.
//! - `registry`: the per-process map that gives each object one mapping.
//! - `layout`: the `#[repr(C)]` bytes of a segment, pinned by assertions.
//! - `sync`: futex, the writer lock word, atomic copies, OFD locks.
//! - `forks`: what a forked child must not keep of its parent's.
//! - `failpoints`: crash points of test builds (`--features failpoints`).
//! - `shm`: the POSIX shared-memory object (open, reserve, map, unlink).
//! - `name`, `error`: the name rule; the error type and status codes.
//!
//! Linux only: it relies on `/dev/shm`, futexes and open file description locks.

#[cfg(not(target_os = "linux"))]
compile_error!("shmiface supports Linux only (futexes, OFD locks, /dev/shm)");

pub mod error;
mod events;
pub mod failpoints;
pub mod ffi;
pub mod forks;
pub mod layout;
mod loans;
mod mapping;
pub mod name;
mod registry;
pub mod segment;
mod shm;
mod sync;
mod value;

pub use error::{Error, ErrorKind, Result};
pub use events::{set_spin_ns, spin_ns, DEFAULT_SPIN_NS};
pub use segment::{unlink, Info, Options, Segment};
pub use value::{Borrowed, Snapshot, LATEST};

/// The shared-memory directory segments live in, for tools that list them.
pub use name::SHM_DIR;
