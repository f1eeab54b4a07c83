//! Running a model: loom runs the model's closure once per interleaving it
//! explores and says nothing about how many there were, so every run here
//! counts them and prints `model NAME: N interleavings` on stderr, which
//! `make test-model` shows (a model that explores a handful of schedules
//! proves little, and the count is how a reader of the output can tell).

use std::cell::Cell;
use std::collections::BTreeSet;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Once};

use loom::model::Builder;

/// The preemption bound when `LOOM_MAX_PREEMPTIONS` is not set, so that a
/// plain `cargo test -p shmiface-model` stays as quick as `make test-model`
/// (which sets it to the same value). Every bug these models are known to
/// find needs at most two preemptions.
pub const DEFAULT_PREEMPTIONS: usize = 3;

fn builder() -> Builder {
    let mut builder = Builder::new();
    builder.preemption_bound.get_or_insert(DEFAULT_PREEMPTIONS);
    builder
}

/// Wraps `model` so that each interleaving it is run for is counted. One
/// counter per run, not a static: the tests of one binary run in
/// parallel, and each must count only its own model's iterations.
fn counted<F>(model: F) -> (Arc<AtomicUsize>, impl Fn() + Sync + Send + 'static)
where
    F: Fn() + Sync + Send + 'static,
{
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    let model = move || {
        counter.fetch_add(1, Relaxed);
        model();
    };
    (count, model)
}

/// Explores every interleaving of `model` within the bound and returns
/// how many there were. A failing interleaving panics, as `loom::model`.
pub fn explore<F>(model: F) -> usize
where
    F: Fn() + Sync + Send + 'static,
{
    let (count, model) = counted(model);
    builder().check(model);
    count.load(Relaxed)
}

/// Explores `model` and prints how many interleavings it took.
pub fn check<F>(name: &str, model: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let n = explore(model);
    eprintln!("model {name}: {n} interleavings");
}

/// Explores a model of a protocol known to be wrong, and returns the
/// message of the failure loom found in it, after checking that it
/// contains `expected` (so that a model failing for another reason, such
/// as an exceeded branch limit, does not pass for a found defect).
/// Panics if every interleaving passed: then the checker could not have
/// caught the defect.
pub fn find_failure<F>(name: &str, expected: &str, model: F) -> String
where
    F: Fn() + Sync + Send + 'static,
{
    let (count, model) = counted(model);
    let outcome = quietly(|| panic::catch_unwind(AssertUnwindSafe(|| builder().check(model))));
    let n = count.load(Relaxed);
    let message = match outcome {
        Ok(()) => panic!(
            "model {name}: all {n} interleavings passed, yet this variant of the protocol \
             is wrong: the checker cannot see the defect"
        ),
        Err(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    };
    assert!(
        message.contains(expected),
        "model {name}: failed, but not as expected ({expected:?}): {message}"
    );
    let first_line = message.lines().next().unwrap_or_default();
    eprintln!("model {name}: defect found at interleaving {n}: {first_line}");
    message
}

/// What the interleavings of a model reached, gathered across all of them
/// (a std set, outside the model: it records, it takes no part). The
/// tests assert that the states each property is about were reached:
/// loom 0.7.3 can miss interleavings (see tests/loom_itself.rs), and a
/// model that never reaches a state proves nothing about it.
pub struct Seen<T>(Arc<Mutex<BTreeSet<T>>>);

impl<T> Clone for Seen<T> {
    fn clone(&self) -> Self {
        Seen(Arc::clone(&self.0))
    }
}

impl<T: Ord + Clone> Default for Seen<T> {
    fn default() -> Self {
        Seen(Arc::new(Mutex::new(BTreeSet::new())))
    }
}

impl<T: Ord + Clone> Seen<T> {
    pub fn insert(&self, t: T) {
        self.0.lock().unwrap().insert(t);
    }

    pub fn all(&self) -> BTreeSet<T> {
        self.0.lock().unwrap().clone()
    }
}

impl<T: Ord + Clone + std::fmt::Debug> Seen<T> {
    /// Panics, naming the model, unless every one of `expected` was reached.
    pub fn assert_reached(&self, name: &str, expected: impl IntoIterator<Item = T>) {
        let all = self.all();
        let missing: Vec<T> = expected.into_iter().filter(|t| !all.contains(t)).collect();
        assert!(
            missing.is_empty(),
            "model {name}: no interleaving reached {missing:?}"
        );
    }
}

thread_local! {
    // Set while this thread runs a model that is meant to fail. loom runs
    // every modelled thread as a coroutine on the test's own OS thread, so
    // the panic hook sees this flag for all of them, and only for them.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` without the panic hook printing a panic raised on this thread:
/// the expected failure of a wrong variant is reported by `find_failure`
/// in one line, not as a panic trace that looks like a failed test.
fn quietly<R>(f: impl FnOnce() -> R) -> R {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                default(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = f();
    QUIET.with(|q| q.set(false));
    result
}
