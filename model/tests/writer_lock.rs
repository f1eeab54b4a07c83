//! The writer lock: three writers each take it once. With a victim, writer
//! 1 is killed holding it, or releasing it; the others must all still get
//! it (a writer left waiting forever is a deadlock, which loom reports),
//! never two live ones at once, and "recovered" must be true exactly for
//! the acquisition that took over from the dead one. The writers have
//! tokens 1, 2, 3, or 1, 2, 2: two threads of one process share its
//! registration (the library registers once per mapping).

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Arc;

use loom::sync::atomic::AtomicU32;
use loom::thread;
use shmiface_model::futex::Slept;
use shmiface_model::harness::{check, find_failure, Seen};
use shmiface_model::writer_lock::{Acquired, Flaw, Lock, Reads, Step, Unlock};

const WRITERS: usize = 3;
/// Writer 1 (the first of `TOKENS`) is the one that may be killed.
const VICTIM: usize = 1;
const DISTINCT: [u32; WRITERS] = [1, 2, 3];
const SHARED: [u32; WRITERS] = [1, 2, 2];

/// How writer 1 ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Victim {
    /// It is not killed.
    Lives,
    /// Killed inside the critical section, holding the lock.
    KilledHolding,
    /// Killed in the contended unlock, after releasing the word and before
    /// waking the sleepers.
    KilledReleasing,
}

/// What the interleavings reached.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Saw {
    Step(Step),
    /// The victim was the n-th to take the lock (0-based).
    VictimEntered(u32),
}

struct Shared {
    lock: Lock<{ WRITERS + 1 }>,
    /// Live holders inside the critical section.
    inside: AtomicU32,
    /// Each critical section's read-then-write of one counter: with a
    /// lock that lets two in, or whose hand-over does not order one
    /// holder's accesses before the next's, an increment is lost.
    entries: AtomicU32,
}

/// The critical section; returns which entry this was (0, 1, 2).
fn enter(shared: &Shared, me: usize) -> u32 {
    let live_before = shared.inside.fetch_add(1, SeqCst);
    assert_eq!(
        live_before, 0,
        "two live writers: writer {me} entered while another was inside"
    );
    let entry = shared.entries.load(Relaxed);
    shared.entries.store(entry + 1, Relaxed);
    entry
}

/// The life of writer `index`, token `me`: lock, critical section,
/// unlock (or death).
fn writer(shared: &Shared, index: usize, me: u32, victim: Victim) -> (u32, Acquired, Option<Step>) {
    let acquired = shared.lock.lock(me);
    let entry = enter(shared, index);
    let how = match (index == VICTIM, victim) {
        (true, Victim::KilledHolding) => {
            // Dead: no longer a live holder; the kernel then reports it.
            shared.inside.fetch_sub(1, SeqCst);
            shared.lock.die(me);
            return (entry, acquired, None);
        }
        (true, Victim::KilledReleasing) => Unlock::DyingBeforeTheWake,
        _ => Unlock::Completely,
    };
    shared.inside.fetch_sub(1, SeqCst);
    let unlocked = shared.lock.unlock(me, how);
    (entry, acquired, Some(unlocked))
}

fn scenario(
    tokens: [u32; WRITERS],
    victim: Victim,
    flaw: Flaw,
    reads: Reads,
    seen: &Seen<Saw>,
) -> impl Fn() + Sync + Send + 'static {
    let seen = seen.clone();
    move || {
        let shared = Arc::new(Shared {
            lock: Lock::new(flaw, reads),
            inside: AtomicU32::new(0),
            entries: AtomicU32::new(0),
        });
        let others: Vec<_> = (1..WRITERS)
            .map(|index| {
                let shared = Arc::clone(&shared);
                thread::spawn(move || writer(&shared, index, tokens[index - 1], victim))
            })
            .collect();
        // The model's main thread is the last writer.
        let mine = writer(&shared, WRITERS, tokens[WRITERS - 1], victim);
        let mut lives: Vec<_> = others.into_iter().map(|t| t.join().unwrap()).collect();
        lives.push(mine);

        let mut order: Vec<u32> = lives.iter().map(|l| l.0).collect();
        order.sort_unstable();
        assert_eq!(order, [0, 1, 2], "entries lost or repeated: {lives:?}");
        let victim_entry = lives[VICTIM - 1].0;
        for (me, (entry, acquired, unlocked)) in (1..).zip(&lives) {
            // The one acquisition right after the victim's, when the victim
            // died holding the lock, is the one that took it over.
            let took_over = victim == Victim::KilledHolding && *entry == victim_entry + 1;
            assert_eq!(
                acquired.recovered, took_over,
                "writer {me} (entry {entry}) recovered = {}, with the victim {victim:?} at entry \
                 {victim_entry}",
                acquired.recovered
            );
            assert_ne!(
                *unlocked,
                Some(Step::NotMine),
                "two live writers: writer {me}'s lock was taken from it"
            );
            for &step in acquired.steps.iter().chain(unlocked) {
                seen.insert(Saw::Step(step));
            }
        }
        seen.insert(Saw::VictimEntered(victim_entry));
    }
}

/// Runs the model with both kinds of reads (see `Reads`), and checks that
/// together they took every path in `expected`.
fn passes(name: &str, victim: Victim, expected: &[Step]) {
    let seen = Seen::default();
    for (tokens, shared) in [(DISTINCT, "distinct"), (SHARED, "two sharing one")] {
        for reads in [Reads::Plain, Reads::Newest] {
            let label = format!("{name}, tokens {shared}, {reads:?} reads");
            check(&label, scenario(tokens, victim, Flaw::None, reads, &seen));
        }
    }
    let steps = expected.iter().map(|&s| Saw::Step(s));
    let positions = (0..WRITERS as u32).map(Saw::VictimEntered);
    seen.assert_reached(name, steps.chain(positions));
}

/// The paths every model with three writers takes somewhere.
const COMMON: [Step; 8] = [
    Step::Fast,
    Step::TookFree,
    Step::Raced,
    Step::MarkedContended,
    Step::Futex(Slept::Refused),
    Step::Futex(Slept::Woken),
    Step::UnlockedFast,
    Step::UnlockedWaking,
];

#[test]
fn three_live_writers_exclude_each_other_and_none_is_left_asleep() {
    // No death, so no timeout ever fires: every sleeper must be woken.
    passes("writer lock, 3 writers", Victim::Lives, &COMMON);
}

#[test]
fn a_writer_killed_holding_the_lock_is_taken_over_once() {
    let mut expected = COMMON.to_vec();
    expected.extend([Step::Stole, Step::Futex(Slept::TimedOut)]);
    passes(
        "writer lock, 3 writers, one killed holding it",
        Victim::KilledHolding,
        &expected,
    );
}

#[test]
fn a_writer_killed_releasing_the_lock_strands_no_one() {
    let mut expected = COMMON.to_vec();
    expected.push(Step::Futex(Slept::TimedOut));
    passes(
        "writer lock, 3 writers, one killed between release and wake",
        Victim::KilledReleasing,
        &expected,
    );
}

#[test]
fn a_contender_that_sleeps_unmarked_is_never_woken() {
    find_failure(
        "writer lock, contender sleeps without marking the word contended",
        "deadlock",
        scenario(
            DISTINCT,
            Victim::Lives,
            Flaw::SleepsUnmarked,
            Reads::Plain,
            &Seen::default(),
        ),
    );
}

#[test]
fn stealing_without_asking_the_kernel_lets_two_writers_in() {
    find_failure(
        "writer lock, contender steals without asking whether the holder lives",
        "two live writers",
        scenario(
            DISTINCT,
            Victim::Lives,
            Flaw::StealsFromTheLiving,
            Reads::Plain,
            &Seen::default(),
        ),
    );
}
