//! Exhaustive models, under loom, of shmiface's three concurrency
//! protocols: the value's seqlock (`seqlock`), wait/notify with a count of
//! sleepers (`events`), and the writer lock naming its holder
//! (`writer_lock`), the last two on a model of the futex (`futex`).
//!
//! Each protocol is written here again, step for step, on loom's types
//! instead of the library's shared memory, so that loom can run it under
//! every interleaving (up to a bound on preemptions) and every order of
//! visibility the memory model allows it to see. The tests in `tests/`
//! assert the protocols' properties, and show for each property a variant
//! of the protocol known to be wrong, which loom must be seen to fail.

pub mod events;
pub mod futex;
pub mod harness;
pub mod seqlock;
pub mod writer_lock;
