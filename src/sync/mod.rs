//! The synchronisation pieces, each small and tested on its own:
//! - `futex`: sleep on / wake a 32-bit word shared between processes;
//! - `writer_lock`: the writers' lock word, taken over from a dead holder;
//! - `atomic_copy`: race-free byte copies to and from shared slots;
//! - `record_lock`: open file description locks that tell who lives.

pub mod atomic_copy;
pub mod futex;
pub mod record_lock;
pub mod writer_lock;
