//! Wait and notify: no lost wake-up, with one notifier and one or two
//! waiters that read the count before the notification; the count of
//! sleepers never wraps across a takeover; and the variants that break
//! each property, which loom must be seen to fail.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use loom::thread;
use shmiface_model::events::{Events, Notify, Step, Wait};
use shmiface_model::futex::Slept;
use shmiface_model::harness::{check, find_failure, Seen};

/// What runs beside the waiters and the notifier.
#[derive(Clone, Copy)]
enum Beside {
    Nothing,
    /// A new owner's takeover, resetting the count of sleepers (with
    /// timed sleeps: their timeouts then fire).
    TakeOver,
    /// The same, with strict sleeps: no timeout fires.
    TakeOverStrict,
}

/// `waiters` waiters (the model's main thread is one of them) and one
/// notifier, and `beside`. Every waiter read `seen` before the
/// notification, and must return a later count (a waiter left asleep is
/// a deadlock, which loom reports). Afterwards no one sleeps, so the
/// count of sleepers must be back at 0.
fn scenario(
    waiters: usize,
    notify: Notify,
    wait: Wait,
    beside: Beside,
    steps: &Seen<Step>,
) -> impl Fn() + Sync + Send + 'static {
    let steps = steps.clone();
    move || {
        let events = Arc::new(Events::new());
        let seen = events.seq.load(SeqCst);
        let mut others = Vec::new();
        {
            let events = Arc::clone(&events);
            others.push(thread::spawn(move || events.notify(notify)));
        }
        if !matches!(beside, Beside::Nothing) {
            let events = Arc::clone(&events);
            others.push(thread::spawn(move || match beside {
                Beside::TakeOver => events.take_over(),
                _ => events.take_over_strict(),
            }));
        }
        let waiting: Vec<_> = (1..waiters)
            .map(|_| {
                let events = Arc::clone(&events);
                thread::spawn(move || events.wait(seen, wait))
            })
            .collect();
        let mut results = vec![events.wait(seen, wait)];
        results.extend(waiting.into_iter().map(|t| t.join().unwrap()));
        for t in others {
            t.join().unwrap();
        }
        for waited in results {
            assert!(
                waited.seq > seen,
                "a waiter returned {waited:?} after {seen}"
            );
            for &step in &waited.steps {
                steps.insert(step);
            }
        }
        let sleepers = events.sleepers.load(SeqCst);
        assert_eq!(
            sleepers, 0,
            "no one sleeps, yet the count of sleepers is {sleepers}"
        );
    }
}

/// Every path through `wait` with strict sleeps: the count seen at once,
/// on the re-check, by the futex's compare, and a sleeper woken.
const STRICT_PATHS: [Step; 4] = [
    Step::Saw,
    Step::Rechecked,
    Step::Futex(Slept::Refused),
    Step::Futex(Slept::Woken),
];

fn passes(name: &str, waiters: usize, notify: Notify, wait: Wait, beside: Beside) -> Seen<Step> {
    let steps = Seen::default();
    check(name, scenario(waiters, notify, wait, beside, &steps));
    steps
}

fn fails(name: &str, expected: &str, waiters: usize, notify: Notify, wait: Wait, beside: Beside) {
    find_failure(
        name,
        expected,
        scenario(waiters, notify, wait, beside, &Seen::default()),
    );
}

#[test]
fn one_waiter_is_always_woken() {
    let name = "wait/notify, 1 waiter";
    let steps = passes(
        name,
        1,
        Notify::CountThenCheck,
        Wait::STRICT,
        Beside::Nothing,
    );
    steps.assert_reached(name, STRICT_PATHS);
}

#[test]
fn two_waiters_are_always_woken() {
    let name = "wait/notify, 2 waiters";
    let steps = passes(
        name,
        2,
        Notify::CountThenCheck,
        Wait::STRICT,
        Beside::Nothing,
    );
    steps.assert_reached(name, STRICT_PATHS);
}

/// A notifier that looks for sleepers before counting misses a waiter
/// that counts itself and sleeps in between, and never wakes it.
#[test]
fn a_notifier_that_checks_before_counting_loses_a_wake_up() {
    fails(
        "wait/notify, notifier checks sleepers before counting",
        "deadlock",
        1,
        Notify::CheckThenCount,
        Wait::STRICT,
        Beside::Nothing,
    );
}

/// Counting first is not enough if the check is Relaxed: the notifier's
/// load may read the count of sleepers from before the waiter's
/// increment even though the waiter's re-check came before the
/// notification (store buffering: SeqCst forbids it, Relaxed does not).
#[test]
fn a_relaxed_check_for_sleepers_loses_a_wake_up() {
    fails(
        "wait/notify, notifier checks sleepers with a Relaxed load",
        "deadlock",
        1,
        Notify::CountThenRelaxedCheck,
        Wait::STRICT,
        Beside::Nothing,
    );
}

/// The waiter's re-check after counting itself is not what prevents the
/// lost wake-up: FUTEX_WAIT compares the word itself, atomically with the
/// sleep. The re-check only saves that system call.
#[test]
fn without_the_re_check_no_wake_up_is_lost_either() {
    let wait = Wait {
        recheck: false,
        ..Wait::STRICT
    };
    let name = "wait/notify, 2 waiters, no re-check";
    let steps = passes(name, 2, Notify::CountThenCheck, wait, Beside::Nothing);
    steps.assert_reached(
        name,
        [
            Step::Saw,
            Step::Futex(Slept::Refused),
            Step::Futex(Slept::Woken),
        ],
    );
}

/// A notifier killed between counting and waking (crash point
/// `notify.counted`) leaves the sleepers to their timeouts.
#[test]
fn a_notifier_killed_after_counting_leaves_no_waiter_asleep() {
    let name = "wait/notify, notifier killed after counting, 2 waiters";
    let steps = passes(
        name,
        2,
        Notify::KilledAfterCounting,
        Wait::DESIGN,
        Beside::Nothing,
    );
    steps.assert_reached(name, [Step::Futex(Slept::TimedOut)]);
}

/// ... and only the timeouts: with strict sleeps a sleeper is never woken.
#[test]
fn a_notifier_killed_after_counting_strands_a_sleeper_without_timeouts() {
    fails(
        "wait/notify, notifier killed after counting, strict sleeps",
        "deadlock",
        1,
        Notify::KilledAfterCounting,
        Wait::STRICT,
        Beside::Nothing,
    );
}

/// A takeover that resets the count of sleepers while a waiter counted
/// itself: the waiter's saturating decrement leaves it at 0, never at
/// u32::MAX, and the waiter still returns.
#[test]
fn the_count_of_sleepers_survives_a_takeover() {
    let name = "wait/notify, takeover resets the count of sleepers";
    let steps = passes(
        name,
        1,
        Notify::CountThenCheck,
        Wait::DESIGN,
        Beside::TakeOver,
    );
    steps.assert_reached(name, [Step::Futex(Slept::TimedOut)]);
}

/// With a plain decrement (src/events.rs today) the waiter's decrement
/// after the reset takes the count to u32::MAX, and every later notify
/// makes a wake-up call for no one.
#[test]
fn the_plain_decrement_wraps_the_count_after_a_takeover() {
    let wait = Wait {
        saturating: false,
        ..Wait::DESIGN
    };
    fails(
        "wait/notify, takeover, plain decrement",
        "the count of sleepers wrapped",
        1,
        Notify::CountThenCheck,
        wait,
        Beside::TakeOver,
    );
}

/// After a takeover's reset the count misses a sleeper, so the notifier
/// may skip the wake-up: only the sleeper's timeout wakes it then.
#[test]
fn after_a_takeover_only_the_timeout_wakes_an_uncounted_sleeper() {
    fails(
        "wait/notify, takeover, strict sleeps",
        "deadlock",
        1,
        Notify::CountThenCheck,
        Wait::STRICT,
        Beside::TakeOverStrict,
    );
}
