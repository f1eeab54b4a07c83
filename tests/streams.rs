//! Streams through the Rust API: a segment that keeps its last `history`
//! values, read in order with `next` (losses as version gaps), waited for
//! on every set, borrowed in place and written through loans; with real
//! processes where another process matters.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{check_pattern, pattern, say, spawn_role, unique, Cleanup};
use shmiface::{ErrorKind, Options, Segment, LATEST};

const CAP: usize = 256;

fn options(history: u32) -> Options {
    Options {
        capacity: CAP as u64,
        history,
        ..Options::default()
    }
}

/// The entry point of every child process (a no-op in a normal test run).
#[test]
fn child_entry() {
    if let Some((role, args)) = common::role_from_env() {
        std::process::exit(run_role(&role, &args));
    }
}

fn run_role(role: &str, args: &[String]) -> i32 {
    let name = args[0].as_str();
    match role {
        // Sets `count` self-checking values as fast as it can, then exits.
        "producer" => {
            let seg = Segment::attach(name).unwrap();
            let count: u64 = args[1].parse().unwrap();
            say("producing");
            for counter in 1..=count {
                seg.write(&pattern(7, counter, CAP), false).unwrap();
            }
            say("done");
            0
        }
        // Creates a history segment, sets values 1..=count, and exits
        // without destroying it (persistent), as a producer that died would.
        "persistent-producer" => {
            let history: u32 = args[1].parse().unwrap();
            let count: u64 = args[2].parse().unwrap();
            let seg = Segment::create(
                name,
                &Options {
                    persistent: true,
                    ..options(history)
                },
            )
            .unwrap();
            for counter in 1..=count {
                seg.write(&pattern(7, counter, CAP), false).unwrap();
            }
            say("done");
            std::process::exit(0);
        }
        // Follows the stream until version `last`; says when it is at `mark`.
        "follower" => {
            let seg = Segment::attach(name).unwrap();
            let mark: u64 = args[1].parse().unwrap();
            let last: u64 = args[2].parse().unwrap();
            let (mut after, mut got, mut lost) = (0u64, 0u64, 0u64);
            let mut buf = vec![0u8; CAP];
            say("following");
            while after < last {
                let s = seg
                    .next_into(after, &mut buf, Some(Duration::from_secs(60)))
                    .unwrap();
                check_pattern(&buf[..s.len], CAP).unwrap();
                assert_eq!(counter_of(&buf[..s.len]), s.version);
                lost += s.version - after - 1;
                got += 1;
                after = s.version;
                if after == mark {
                    say(format!("at {mark}"));
                }
            }
            say(format!("got {got} lost {lost}"));
            0
        }
        other => panic!("unknown role {other}"),
    }
}

fn counter_of(v: &[u8]) -> u64 {
    u64::from_le_bytes(v[..8].try_into().unwrap()) & ((1 << 48) - 1)
}

#[test]
fn next_reads_every_kept_value_in_order_and_counts_the_lost() {
    let name = unique("order");
    let _c = Cleanup(name.clone());
    let seg = Segment::create(&name, &options(4)).unwrap();
    assert_eq!(seg.history(), 4);
    for counter in 1..=10 {
        assert_eq!(
            seg.write(&pattern(1, counter, CAP), false).unwrap(),
            counter
        );
    }
    let info = seg.info().unwrap();
    assert_eq!(
        (info.history, info.oldest_version, info.version),
        (4, 7, 10)
    );
    // From the start: versions 1..=6 were overwritten; 7..=10 are kept.
    let mut after = 0;
    let mut got = Vec::new();
    while let Ok((v, version)) = seg.next(after, Some(Duration::ZERO)) {
        check_pattern(&v, CAP).unwrap();
        assert_eq!(counter_of(&v), version, "each version holds its own value");
        got.push(version - after - 1);
        after = version;
    }
    assert_eq!(after, 10);
    assert_eq!(got, vec![6, 0, 0, 0], "lost 6 before 7, then nothing");
    let e = seg.next(10, Some(Duration::ZERO)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    // LATEST: the current value, without waiting.
    assert_eq!(seg.next(LATEST, None).unwrap().1, 10);
}

#[test]
fn history_one_behaves_as_a_plain_segment() {
    let name = unique("h1");
    let _c = Cleanup(name.clone());
    let seg = Segment::create(&name, &options(1)).unwrap();
    assert_eq!(seg.next(LATEST, None).unwrap(), (vec![], 0));
    seg.write(b"a", false).unwrap();
    seg.write(b"b", false).unwrap();
    assert_eq!(seg.next(0, None).unwrap(), (b"b".to_vec(), 2));
    assert_eq!(seg.info().unwrap().oldest_version, 2);
}

#[test]
fn next_is_woken_by_every_set_notified_or_not() {
    let name = unique("woken");
    let _c = Cleanup(name.clone());
    let seg = Arc::new(Segment::create(&name, &options(8)).unwrap());
    for spin in [0, 50_000] {
        shmiface::set_spin_ns(spin);
        let after = seg.next(LATEST, None).unwrap().1;
        let reader = {
            let seg = Arc::clone(&seg);
            std::thread::spawn(move || seg.next(after, Some(Duration::from_secs(60))))
        };
        std::thread::sleep(Duration::from_millis(50));
        seg.write(b"unannounced", false).unwrap();
        let (v, version) = reader.join().unwrap().unwrap();
        assert_eq!((v.as_slice(), version), (&b"unannounced"[..], after + 1));
    }
}

#[test]
fn a_consumer_in_another_process_gets_every_value_or_counts_it_lost() {
    let name = unique("consumer");
    let _c = Cleanup(name.clone());
    let seg = Segment::create(&name, &options(64)).unwrap();
    let count = 20_000u64;
    let producer = spawn_role("producer", &[&name, &count.to_string()]);
    assert_eq!(producer.line(), "producing");
    let (mut after, mut got, mut lost) = (0u64, 0u64, 0u64);
    let mut buf = vec![0u8; CAP];
    let deadline = Instant::now() + common::HANG;
    while after < count {
        assert!(Instant::now() < deadline, "the stream stalled at {after}");
        let s = seg
            .next_into(after, &mut buf, Some(Duration::from_secs(10)))
            .unwrap();
        let v = &buf[..s.len];
        check_pattern(v, CAP).unwrap();
        assert_eq!(counter_of(v), s.version);
        assert!(s.version > after, "versions only grow");
        lost += s.version - after - 1;
        got += 1;
        after = s.version;
    }
    assert_eq!(got + lost, count, "every value was read or counted lost");
    eprintln!("stream: {count} values, {got} read in order, {lost} counted lost");
}

#[test]
fn a_late_joiner_reads_the_history_after_every_writer_died() {
    let name = unique("late");
    let _c = Cleanup(name.clone());
    let mut producer = spawn_role("persistent-producer", &[&name, "16", "100"]);
    assert_eq!(producer.line(), "done");
    assert_eq!(producer.exit_code(), 0);
    let late = Segment::attach(&name).unwrap();
    assert!(!late.info().unwrap().owner_alive);
    let mut after = 0;
    let mut versions = Vec::new();
    while let Ok((v, version)) = late.next(after, Some(Duration::ZERO)) {
        assert_eq!(counter_of(&v), version);
        versions.push(version);
        after = version;
    }
    assert_eq!(versions, (85..=100).collect::<Vec<_>>());
    // A new owner with the same capacity and history keeps them.
    let owner = Segment::create(&name, &options(16)).unwrap();
    assert_eq!(owner.next(0, None).unwrap().1, 85);
    owner.destroy().unwrap();
}

#[test]
fn a_borrow_is_intact_until_history_newer_values_are_set() {
    let name = unique("borrow");
    let _c = Cleanup(name.clone());
    let history = 4u32;
    let seg = Segment::create(&name, &options(history)).unwrap();
    seg.write(&pattern(1, 1, CAP), false).unwrap();
    for newer in [u64::from(history), u64::from(history) + 1] {
        let b = seg.borrow(LATEST, None).unwrap();
        // SAFETY: the borrow points at `len` mapped bytes while `seg` lives.
        let bytes = unsafe { std::slice::from_raw_parts(b.data, b.len) }.to_vec();
        for _ in 0..newer {
            let next = seg.info().unwrap().version + 1;
            seg.write(&pattern(1, next, CAP), false).unwrap();
        }
        let verdict = seg.release(b.version);
        if newer <= u64::from(history) {
            verdict.unwrap();
            check_pattern(&bytes, CAP).unwrap();
            assert_eq!(counter_of(&bytes), b.version);
        } else {
            assert_eq!(verdict.unwrap_err().kind(), ErrorKind::Overwritten);
        }
    }
}

#[test]
fn loans_publish_discard_and_refuse_the_loaning_thread() {
    let name = unique("loan");
    let _c = Cleanup(name.clone());
    let seg = Segment::create(&name, &options(2)).unwrap();
    let (data, capacity) = seg.loan().unwrap();
    assert_eq!(capacity, CAP);
    assert_eq!(data as usize % 64, 0, "aligned to 64");
    // SAFETY: the loan lends `capacity` writable bytes.
    unsafe { std::ptr::copy_nonoverlapping(b"in place".as_ptr(), data, 8) };
    // The loaning thread may not wait for its own lock.
    assert_eq!(seg.write(b"x", false).unwrap_err().kind(), ErrorKind::Busy);
    assert_eq!(seg.loan().unwrap_err().kind(), ErrorKind::Busy);
    // Readers never see the loaned slot.
    assert_eq!(seg.read().unwrap(), (vec![], 0));
    let e = seg.publish(CAP + 1, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "and the loan stays open");
    assert_eq!(seg.publish(8, false).unwrap(), 1);
    assert_eq!(seg.read().unwrap(), (b"in place".to_vec(), 1));
    assert_eq!(
        seg.publish(1, false).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        seg.discard().unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    // A discarded loan publishes nothing, and the lock is free again.
    let (data, _) = seg.loan().unwrap();
    // SAFETY: as above.
    unsafe { std::ptr::write_bytes(data, b'Z', CAP) };
    seg.discard().unwrap();
    assert_eq!(seg.read().unwrap(), (b"in place".to_vec(), 1));
    assert_eq!(seg.next(0, None).unwrap().1, 1);
    assert_eq!(seg.write(b"after", false).unwrap(), 2);
    // Another thread waits for a loan instead of being refused.
    let (_, _) = seg.loan().unwrap();
    let seg = Arc::new(seg);
    let other = {
        let seg = Arc::clone(&seg);
        std::thread::spawn(move || seg.write(b"waited", false))
    };
    std::thread::sleep(Duration::from_millis(50));
    assert!(!other.is_finished(), "another thread waits for the loan");
    assert_eq!(seg.publish(0, false).unwrap(), 3);
    assert_eq!(other.join().unwrap().unwrap(), 4);
}

#[test]
fn history_and_size_limits_are_checked() {
    let name = unique("limits");
    let _c = Cleanup(name.clone());
    for (history, capacity) in [(0, 64), (65_537, 64), (65_536, 1 << 30)] {
        let e = Segment::create(
            &name,
            &Options {
                capacity,
                history,
                ..Options::default()
            },
        )
        .err()
        .map(|e| e.kind());
        assert_eq!(e, Some(ErrorKind::InvalidArgument), "history {history}");
    }
    assert!(!std::path::Path::new("/dev/shm").join(&name).exists());
}

/// A consumer stopped (SIGSTOP) while `history + 1000` values are set
/// resumes, reports exactly 1000 lost, and reads the kept rest in order;
/// another consumer killed meanwhile costs no one anything.
#[test]
fn a_stopped_consumer_reports_the_exact_loss_and_a_killed_one_costs_nothing() {
    let name = unique("stopped");
    let _c = Cleanup(name.clone());
    let history = 32u32;
    let seg = Segment::create(&name, &options(history)).unwrap();
    let mark = 10u64;
    let last = mark + u64::from(history) + 1000;
    let (mark_s, last_s) = (mark.to_string(), last.to_string());
    let stopped = spawn_role("follower", &[&name, &mark_s, &last_s]);
    let mut killed = spawn_role("follower", &[&name, &mark_s, &last_s]);
    assert_eq!(stopped.line(), "following");
    assert_eq!(killed.line(), "following");
    for counter in 1..=mark {
        seg.write(&pattern(1, counter, CAP), false).unwrap();
    }
    assert_eq!(stopped.line(), format!("at {mark}"));
    assert_eq!(killed.line(), format!("at {mark}"));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(stopped.pid(), libc::SIGSTOP) };
    killed.kill();
    for counter in mark + 1..=last {
        seg.write(&pattern(1, counter, CAP), false).unwrap();
    }
    // SAFETY: as above.
    unsafe { libc::kill(stopped.pid(), libc::SIGCONT) };
    let mut stopped = stopped;
    assert_eq!(
        stopped.line(),
        format!("got {} lost 1000", mark + u64::from(history))
    );
    assert_eq!(stopped.exit_code(), 0);
}
