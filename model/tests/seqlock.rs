//! The value's seqlock, with 2 slots (no history) and 3 (history 2): one
//! thread of writers, among them one killed at each of its steps in turn,
//! against a reader making two reads.
//!
//! The writers run one after the other in one thread: the writer lock
//! serialises them, and the writer after a killed one takes the lock only
//! once the kernel reports the death, when every store of the dead process
//! is visible; program order stands for both.

use std::collections::BTreeSet;
use std::sync::Arc;

use loom::thread;
use shmiface_model::harness::{explore, find_failure, Seen};
use shmiface_model::seqlock::{
    tag, Check, Next, Read, Retry, Value, Written, COPIED, PUBLISHED, WRITE_STEPS,
};

/// Every (version, tag) published, the empty value first.
type Log = Vec<(u64, u64)>;

/// What the interleavings of a model reached.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Saw {
    /// A read returned this version.
    Read(u64),
    /// A read retried for this reason.
    Retry(Retry),
    /// `next` reported this many versions lost.
    Lost(u64),
}

/// Runs `writers` complete writers, then one killed after `killed_after`
/// steps, then one more, which reuses the killed writer's version number
/// and slot. `mine` and `log` carry on from earlier writes.
fn write_all<const N: usize>(
    value: &Value<N>,
    mine: &mut Written<N>,
    log: &mut Log,
    writers: usize,
    killed_after: usize,
) {
    let first = log.len() as u64;
    let plan = (0..writers)
        .map(|_| PUBLISHED)
        .chain([killed_after, PUBLISHED]);
    for (writer, steps) in (first..).zip(plan) {
        if let Some(version) = value.write(mine, writer, steps) {
            log.push((version, tag(version, writer)));
        }
    }
}

/// The value a reader returned is whole and is one a writer published as
/// that version.
fn assert_published(read: Read, log: &Log) {
    assert_eq!(read.words[0], read.words[1], "torn read: {read:?}");
    assert!(
        log.contains(&(read.version, read.words[0])),
        "a never-published value: {read:?} (published: {log:?})"
    );
}

/// Two `get`s against `N - 1` writers, a killed one and one more. The
/// killed writer fills slot `N % N = 0`, the slot of version 0, which a
/// reader that chose version 0 before the first write is about to read.
fn get_model<const N: usize>(killed_after: usize, check: Check, seen: &Seen<Saw>) {
    let value = Arc::new(Value::<N>::new());
    let writing = {
        let value = Arc::clone(&value);
        thread::spawn(move || {
            let mut log = vec![(0, tag(0, 0))];
            write_all(
                &value,
                &mut Written::default(),
                &mut log,
                N - 1,
                killed_after,
            );
            log
        })
    };
    let (first, retried_first) = value
        .get(check)
        .expect("a reader retried past every writer");
    let (second, retried_second) = value
        .get(check)
        .expect("a reader retried past every writer");
    let log = writing.join().unwrap();
    assert_published(first, &log);
    assert_published(second, &log);
    assert!(
        second.version >= first.version,
        "reads went backwards: {first:?} then {second:?}"
    );
    for read in [first, second] {
        seen.insert(Saw::Read(read.version));
    }
    for &why in retried_first.iter().chain(&retried_second) {
        seen.insert(Saw::Retry(why));
    }
}

/// Runs `model` once per kill point, prints the counts on one line, and
/// checks that each kill point's interleavings reached `expected(k)`.
fn for_each_kill_point(
    name: &str,
    model: impl Fn(usize, &Seen<Saw>) + Copy + Sync + Send + 'static,
    expected: impl Fn(usize) -> BTreeSet<Saw>,
) {
    let mut counts = Vec::new();
    for k in 0..=WRITE_STEPS.len() {
        let seen = Seen::default();
        let recorded = seen.clone();
        counts.push(explore(move || model(k, &recorded)));
        seen.assert_reached(
            &format!("{name}, writer killed after step {k}"),
            expected(k),
        );
    }
    let by_step: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect();
    eprintln!(
        "model {name}: {} interleavings (by the step the writer was killed after: {})",
        counts.iter().sum::<usize>(),
        by_step.join(", ")
    );
}

/// Every version published by `N - 1` writers, a writer killed after `k`
/// steps and one more is read in some interleaving, and every kind of
/// retry happens: the killed writer's slot is the one slow readers read.
fn every_version_and_retry<const N: usize>(k: usize) -> BTreeSet<Saw> {
    let last = if k >= PUBLISHED { N + 1 } else { N } as u64;
    let mut expected: BTreeSet<Saw> = (0..=last).map(Saw::Read).collect();
    expected.extend([Retry::Odd, Retry::Reused, Retry::Moved].map(Saw::Retry));
    expected
}

#[test]
fn get_with_2_slots_returns_only_whole_published_values_in_order() {
    for_each_kill_point(
        "get, 2 slots",
        |k, seen| get_model::<2>(k, Check::SeqAndVersion, seen),
        every_version_and_retry::<2>,
    );
}

#[test]
fn get_with_3_slots_returns_only_whole_published_values_in_order() {
    for_each_kill_point(
        "get, 3 slots",
        |k, seen| get_model::<3>(k, Check::SeqAndVersion, seen),
        every_version_and_retry::<3>,
    );
}

/// Today's two-slot reader keeps a copy whose sequence did not move and
/// returns the version the slot holds. A writer killed after making its
/// slot even again (crash point `write.copied`) leaves a complete value
/// that was never published, in the slot a slow reader chose.
#[test]
fn the_unchecked_reader_returns_a_never_published_value() {
    find_failure(
        "get without the version check (today's reader), writer killed at write.copied",
        "a never-published value",
        || get_model::<2>(COPIED, Check::SeqOnly, &Seen::default()),
    );
}

/// Without reading the slot's version at all, a reader returns the
/// version it chose with another version's bytes: writers overtaking it
/// are enough, no one has to die.
#[test]
fn the_reader_that_trusts_its_chosen_version_returns_another_versions_bytes() {
    find_failure(
        "get returning the chosen version unchecked, no writer killed",
        "a never-published value",
        || get_model::<3>(PUBLISHED, Check::SeqOnlyChosenVersion, &Seen::default()),
    );
}

/// Two `next`s, from `after` = 0, on 3 slots. Versions 1 and 2 are
/// written before the reader starts (the model's setup, run before any
/// other thread exists), then one writer, a killed one and one more:
/// the killed writer fills the slot of version 1, which `next(0)` wants
/// when it chose from version 2.
fn next_model(killed_after: usize, seen: &Seen<Saw>) {
    const N: usize = 3;
    let value = Arc::new(Value::<N>::new());
    let mut mine = Written::default();
    let mut log = vec![(0, tag(0, 0))];
    for writer in 1..=2 {
        let version = value.write(&mut mine, writer, PUBLISHED).unwrap();
        log.push((version, tag(version, writer)));
    }
    let writing = {
        let value = Arc::clone(&value);
        thread::spawn(move || {
            write_all(&value, &mut mine, &mut log, 1, killed_after);
            log
        })
    };
    let mut after = 0;
    let mut found = Vec::new();
    for _ in 0..2 {
        let (next, retries) = value
            .next(after)
            .expect("a reader retried past every writer");
        found.push((after, next));
        for why in retries {
            seen.insert(Saw::Retry(why));
        }
        if let Next::Got { read, .. } = next {
            after = read.version;
        }
    }
    let log = writing.join().unwrap();
    for (after, next) in found {
        let Next::Got {
            read,
            lost,
            chosen_from,
        } = next
        else {
            continue;
        };
        assert_published(read, &log);
        assert!(read.version > after, "next({after}) returned {read:?}");
        assert!(
            log.iter().any(|&(v, _)| v == chosen_from) && read.version <= chosen_from,
            "next({after}) chose {read:?} from {chosen_from}, not a published version past it"
        );
        assert_eq!(
            read.version,
            after + 1 + lost,
            "next({after}) returned {read:?} reporting {lost} lost"
        );
        // Exact loss: a version is reported lost only if it was older than
        // every kept one when the reader chose; kept versions never are.
        let oldest_kept = chosen_from.saturating_sub(N as u64 - 2);
        assert!(
            lost == 0 || read.version == oldest_kept,
            "next({after}) reported {lost} lost, but chose {read:?} from {chosen_from}, \
             whose oldest kept version is {oldest_kept}"
        );
        seen.insert(Saw::Read(read.version));
        seen.insert(Saw::Lost(lost));
    }
}

#[test]
fn next_with_3_slots_returns_the_oldest_kept_version_and_counts_the_loss() {
    for_each_kill_point("next, 3 slots", next_model, |k| {
        // Reads of every version after 0, losses of 0, 1 and 2 versions
        // (the reader fell behind), and the reused slot retried.
        let last = if k >= PUBLISHED { 4 } else { 3 };
        let mut expected: BTreeSet<Saw> = (1..=last).map(Saw::Read).collect();
        expected.extend((0..=2).map(Saw::Lost));
        expected.insert(Saw::Retry(Retry::Reused));
        expected
    });
}
