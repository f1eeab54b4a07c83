//! Streams under crashes: writers SIGKILLed at every crash point of a set,
//! with a loan open, and at random moments, while a consumer in another
//! process reads every
//! value with `next`. The consumer must never get a torn value or one that
//! was never published, its versions must only grow, and every gap it
//! reports must be exactly the values it did not get.
//!
//! Run by `make test-crash-points` against the test build.
#![cfg(feature = "failpoints")]

mod common;

use std::time::Duration;

use common::{check_pattern, pattern, say, spawn_role, spawn_role_env, unique, Cleanup};
use shmiface::{ErrorKind, Options, Segment};

const CAP: usize = 512;
const HISTORY: u32 = 8;
const SIGKILL: i32 = 9;
/// Writer ids: values of ids at or above this were never published
/// (their writer was killed before publishing), so no reader may see one.
const GHOST: u64 = 2000;

fn options() -> Options {
    Options {
        capacity: CAP as u64,
        history: HISTORY,
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

/// Writer id whose value ends a consumer's run, whatever its version.
const STOP: u64 = 1999;

/// Sets one value whose counter is the version it becomes, so a reader can
/// check each version holds its own value. `known` is the version the
/// caller believes current: a writer that keeps it spends its time in the
/// set itself, where a random kill should land, not in `info`.
fn set_numbered(seg: &Segment, id: u64, known: &mut u64) -> u64 {
    loop {
        match seg.compare_and_set(*known, &pattern(id, *known + 1, CAP), false) {
            Ok(v) => {
                *known = v;
                return v;
            }
            Err(e) if e.kind() == ErrorKind::Conflict => *known = seg.info().unwrap().version,
            Err(e) => panic!("{e}"),
        }
    }
}

fn run_role(role: &str, args: &[String]) -> i32 {
    let name = args[0].as_str();
    match role {
        "writer" => {
            let seg = Segment::attach(name).unwrap();
            let id: u64 = args[1].parse().unwrap();
            let count: u64 = args[2].parse().unwrap();
            let mut known = seg.info().unwrap().version;
            for _ in 0..count {
                set_numbered(&seg, id, &mut known);
            }
            0
        }
        // Takes a loan, fills half of it, and dies holding it.
        "dies-holding-a-loan" => {
            let seg = Segment::attach(name).unwrap();
            let (data, capacity) = seg.loan().unwrap();
            // SAFETY: the loan lends `capacity` writable bytes.
            unsafe { std::ptr::write_bytes(data, 0xee, capacity / 2) };
            // SAFETY: signalling our own process.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            unreachable!()
        }
        // Follows the stream until version `last` or a value of writer
        // STOP, checking every value.
        "consumer" => {
            let seg = Segment::attach(name).unwrap();
            let last: u64 = args[1].parse().unwrap();
            let mut buf = vec![0u8; CAP];
            let (mut after, mut got, mut lost) = (0u64, 0u64, 0u64);
            say("following");
            while after < last {
                let s = seg
                    .next_into(after, &mut buf, Some(Duration::from_secs(30)))
                    .unwrap();
                let v = &buf[..s.len];
                if let Err(why) = check_pattern(v, CAP) {
                    say(format!("torn at {}: {why}", s.version));
                    return 3;
                }
                let tag = u64::from_le_bytes(v[..8].try_into().unwrap());
                if tag >> 48 >= GHOST {
                    say(format!(
                        "never published: version {} from {}",
                        s.version,
                        tag >> 48
                    ));
                    return 4;
                }
                if tag & ((1 << 48) - 1) != s.version || s.version <= after {
                    say(format!(
                        "version {} after {after} holds {tag:#x}",
                        s.version
                    ));
                    return 5;
                }
                lost += s.version - after - 1;
                got += 1;
                after = s.version;
                if tag >> 48 == STOP {
                    break;
                }
            }
            say(format!("got {got} lost {lost}"));
            0
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn writers_killed_at_every_step_never_disturb_a_consumer() {
    let name = unique("stream-kills");
    let _cleanup = Cleanup(name.clone());
    let owner = Segment::create(&name, &options()).unwrap();
    let rounds = 8u64;
    let per_round = 300u64;
    // Every round: plain writes, then one writer killed at each point, and
    // one that dies holding a loan. Killed writers publish only at
    // write.published, so `last` counts those.
    let last = rounds * (per_round + 1);
    let consumer = spawn_role("consumer", &[&name, &last.to_string()]);
    assert_eq!(consumer.line(), "following");
    let mut kills = 0;
    for round in 0..rounds {
        let mut plain = spawn_role("writer", &[&name, "1", &per_round.to_string()]);
        assert_eq!(plain.exit_code(), 0);
        for (point, id) in [
            ("write.copying", GHOST),
            ("write.copied", GHOST + 1),
            ("write.published", 1000 + round),
        ] {
            let spec = format!("{point}=kill");
            let mut killed = spawn_role_env(
                "writer",
                &[&name, &id.to_string(), "1"],
                &[("SHMIFACE_FAILPOINTS", &spec)],
            );
            assert_eq!(killed.end_signal(), Some(SIGKILL), "{point}");
            kills += 1;
        }
        let mut loaner = spawn_role("dies-holding-a-loan", &[&name]);
        assert_eq!(loaner.end_signal(), Some(SIGKILL));
        kills += 1;
    }
    let mut consumer = consumer;
    let report = consumer.line();
    assert_eq!(consumer.exit_code(), 0, "{report}");
    let (got, lost): (u64, u64) = {
        let f: Vec<u64> = report
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        (f[0], f[1])
    };
    assert_eq!(got + lost, last, "every version read or counted lost");
    assert_eq!(owner.info().unwrap().version, last);
    // The last one died holding a loan: the next writer takes the lock over.
    owner.write(b"after", false).unwrap();
    let recoveries = u64::from(owner.info().unwrap().lock_recoveries);
    assert_eq!(recoveries, kills, "each killed writer held the lock");
    eprintln!(
        "crash point: streams: {kills} writers killed (copying, copied, published, loan open), \
         {last} versions, consumer got {got} lost {lost}, torn 0, never-published 0"
    );
}

#[test]
fn writers_killed_at_random_never_disturb_a_consumer() {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};

    let name = unique("stream-random-kills");
    let _cleanup = Cleanup(name.clone());
    let owner = Segment::create(&name, &options()).unwrap();
    let mut consumer = spawn_role("consumer", &[&name, &u64::MAX.to_string()]);
    assert_eq!(consumer.line(), "following");
    let kills = 40u64;
    let mut delays = Vec::new();
    for k in 0..kills {
        let mut writer = spawn_role("writer", &[&name, &(100 + k).to_string(), "100000000"]);
        // A random moment in the writer's first few milliseconds of sets.
        let micros = 200 + RandomState::new().build_hasher().finish() % 3000;
        delays.push(micros);
        std::thread::sleep(Duration::from_micros(micros));
        writer.kill();
    }
    let mut known = owner.info().unwrap().version;
    let last = set_numbered(&owner, STOP, &mut known);
    let report = consumer.line();
    assert_eq!(consumer.exit_code(), 0, "{report}");
    let f: Vec<u64> = report
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let (got, lost) = (f[0], f[1]);
    assert_eq!(got + lost, last, "every version read or counted lost");
    let inside = owner.info().unwrap().lock_recoveries;
    eprintln!(
        "random kills: streams: {kills} writers killed after 200-3200 us \
         ({inside} inside the lock), {last} versions, consumer got {got} lost {lost}, \
         torn 0, never-published 0"
    );
}
