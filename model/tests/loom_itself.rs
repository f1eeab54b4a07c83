//! What the models have to work around in loom 0.7.3 itself: it keeps one
//! last access per atomic, so a thread that loads an atomic and then
//! stores it hides, behind its own load, the race between another
//! thread's earlier load and that store, and loom never runs them the
//! other way round (tokio-rs/loom#166, #392). The seqlock's writers
//! therefore take their own loads from memory of what they stored, and the
//! writer lock runs once more with its loads made read-modify-writes.
//!
//! If a later loom explores both orders here, this test fails: then those
//! workarounds can go.

use std::sync::Arc;

use loom::sync::atomic::AtomicU64;
use loom::thread;
use shmiface_model::harness::{explore, Seen};
use std::sync::atomic::Ordering::SeqCst;

/// Which values the main thread's load can return, when another thread
/// stores 1 (after loading the atomic first, if `load_first`).
fn values_seen(load_first: bool) -> Vec<u64> {
    let seen = Seen::default();
    let recorded = seen.clone();
    explore(move || {
        let x = Arc::new(AtomicU64::new(0));
        let storer = {
            let x = Arc::clone(&x);
            thread::spawn(move || {
                if load_first {
                    x.load(SeqCst);
                }
                x.store(1, SeqCst);
            })
        };
        recorded.insert(x.load(SeqCst));
        storer.join().unwrap();
    });
    seen.all().into_iter().collect()
}

#[test]
fn loom_misses_a_race_hidden_behind_the_storers_own_load() {
    assert_eq!(
        values_seen(false),
        [0, 1],
        "without the load, both orders run"
    );
    assert_eq!(
        values_seen(true),
        [0],
        "loom now runs the load after the store even behind the storer's own load: \
         the workarounds in seqlock::Value::write and writer_lock::Reads can go"
    );
}
