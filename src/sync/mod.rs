//! The synchronisation pieces, each small and tested on its own:
//! - `futex`: sleep on / wake a 32-bit word shared between processes;
//! - `robust_mutex`: the writers' lock that survives a killed holder;
//! - `atomic_copy`: race-free byte copies to and from shared slots;
//! - `record_lock`: fcntl record locks that tell whether an owner lives.

pub mod atomic_copy;
pub mod futex;
pub mod record_lock;
pub mod robust_mutex;
