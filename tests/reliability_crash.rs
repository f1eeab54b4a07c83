//! Crash injection: writers, readers, waiters and notifiers in separate
//! processes share one segment while this test SIGKILLs them at random
//! moments and starts replacements. Every process counts what it does in
//! a scoreboard that survives the kills (see `reliability_support::Board`).
//!
//! Figures (printed as one summary line, even when the test passes):
//! - kills, reads, writes, waits and notifications;
//! - torn values (must be 0): every value is self-checking
//!   (`reliability_support::pattern`), and every read is checked;
//! - lost notifications (must be 0): a waiter publishes its cursor and a
//!   "waiting" flag before it calls wait; a supervisor thread here watches
//!   the notification count, and a waiter still blocked `LOST_AFTER` after
//!   the count moved past its published cursor is a lost notification;
//! - max_blocked_ms: the longest any survivor was blocked: the longest
//!   single set/get/notify call in any process, and the longest a waiter
//!   stayed asleep after the count moved past its cursor.
//!
//! `SHMIFACE_KILLS` (default 100; `make stress` uses 1000) and
//! `SHMIFACE_CRASH_SEED` (default: from the clock, printed) steer a run.

mod reliability_support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reliability_support::{
    check_pattern, kill9, pattern, report, spawn_role, unique, Board, Cleanup, Rng, HANG,
};
use shmiface::{Options, Segment};

const CAP: usize = 200;
/// A waiter asleep this long after a notification it should have seen has lost it.
const LOST_AFTER: Duration = Duration::from_secs(5);
/// The bound asserted on max_blocked (a hang guard: far above any real figure).
const BLOCKED_BOUND: Duration = Duration::from_secs(10);

// Scoreboard fields of one process slot.
const PID: usize = 0;
const READY: usize = 1;
const OPS: usize = 2;
const TORN: usize = 3;
const MAX_OP_NS: usize = 4;
const WAITING: usize = 5;
const SEEN: usize = 6;
const EPOCH: usize = 7;
const ERRORS: usize = 8;
const BACKWARDS: usize = 9;

/// The processes of a run, one per scoreboard slot.
const ROLES: [&str; 8] = [
    "writer",
    "writer",
    "reader",
    "reader",
    "waiter",
    "waiter",
    "notifier",
    "setnotifier",
];

#[test]
fn child_entry() {
    if let Some((role, args)) = reliability_support::role_from_env() {
        std::process::exit(run_role(&role, &args));
    }
}

fn run_role(role: &str, args: &[String]) -> i32 {
    let (name, board, slot) = (&args[0], Board::open(&args[1]), args[2].parse().unwrap());
    let seed: u64 = args[3].parse().unwrap();
    let seg = match Segment::attach(name) {
        Ok(seg) => seg,
        Err(e) => {
            eprintln!("crash role {role}: attach failed: {e}");
            board.add(slot, ERRORS, 1);
            return 2;
        }
    };
    board.set(slot, PID, u64::from(std::process::id()));
    let timed = |op: &mut dyn FnMut() -> bool| {
        let start = Instant::now();
        let ok = op();
        board.max(slot, MAX_OP_NS, start.elapsed().as_nanos() as u64);
        board.add(slot, OPS, 1);
        if !ok {
            board.add(slot, ERRORS, 1);
        }
    };
    match role {
        // Sets prepared self-checking values as fast as it can.
        "writer" => {
            let id = seed % 4096 + 1;
            let values: Vec<_> = (1..=64).map(|c| pattern(id, c, CAP)).collect();
            board.set(slot, READY, 1);
            for i in 0.. {
                timed(&mut || {
                    seg.write(&values[i % 64], false)
                        .map_err(|e| eprintln!("writer: {e}"))
                        .is_ok()
                });
            }
        }
        // Reads as fast as it can, checking every value and that the
        // version never goes back.
        "reader" => {
            let mut buf = vec![0u8; CAP];
            let mut last = 0;
            board.set(slot, READY, 1);
            loop {
                timed(&mut || match seg.read_into(&mut buf) {
                    Ok(s) => {
                        if let Err(why) = check_pattern(&buf[..s.len], CAP) {
                            eprintln!("reader: TORN: {why}");
                            board.add(slot, TORN, 1);
                        }
                        if s.version < last {
                            board.add(slot, BACKWARDS, 1);
                        }
                        last = s.version;
                        true
                    }
                    Err(e) => {
                        eprintln!("reader: {e}");
                        false
                    }
                });
            }
        }
        // Publishes its cursor, then waits; counts completed waits.
        "waiter" => {
            let mut seen = seg.notify_count();
            board.set(slot, READY, 1);
            loop {
                board.set(slot, SEEN, seen);
                board.set(slot, WAITING, 1);
                let r = seg.wait(Some(&mut seen), Some(Duration::from_secs(30)));
                board.set(slot, WAITING, 0);
                board.add(slot, EPOCH, 1);
                board.add(slot, OPS, 1);
                if let Err(e) = r {
                    eprintln!("waiter: {e}");
                    board.add(slot, ERRORS, 1);
                }
            }
        }
        // Notifies at random short intervals, so waiters really sleep;
        // "setnotifier" sets a value with the notify flag instead.
        "notifier" | "setnotifier" => {
            let mut rng = Rng::new(seed);
            let id = seed % 4096 + 1;
            board.set(slot, READY, 1);
            for counter in 1.. {
                std::thread::sleep(Duration::from_micros(rng.below(2000)));
                timed(&mut || {
                    let r = if role == "notifier" {
                        seg.notify()
                    } else {
                        seg.write(&pattern(id, counter, CAP), true).map(drop)
                    };
                    r.map_err(|e| eprintln!("{role}: {e}")).is_ok()
                });
            }
        }
        other => panic!("unknown role {other}"),
    }
    0
}

#[derive(Default)]
struct Totals {
    ops: [u64; ROLES.len()],
    torn: u64,
    errors: u64,
    backwards: u64,
    max_op_ns: u64,
}

impl Totals {
    /// Adds a slot's counters (of a process now dead) and clears the slot.
    fn fold(&mut self, board: &Board, slot: usize) {
        self.ops[slot] += board.get(slot, OPS);
        self.torn += board.get(slot, TORN);
        self.errors += board.get(slot, ERRORS);
        self.backwards += board.get(slot, BACKWARDS);
        self.max_op_ns = self.max_op_ns.max(board.get(slot, MAX_OP_NS));
        board.clear_slot(slot);
    }

    fn of(&self, role: &str) -> u64 {
        ROLES
            .iter()
            .zip(self.ops)
            .filter(|(r, _)| **r == role)
            .map(|(_, n)| n)
            .sum()
    }
}

/// A wait the count has moved past: its (generation, epoch), since when,
/// and whether it was already counted as lost.
type Pending = ((u64, u64), Instant, bool);

/// Watches the waiters: how long each stays asleep after the count moved
/// past its published cursor, and how many never woke (lost).
struct Supervisor {
    alive: Vec<AtomicBool>,
    generation: Vec<AtomicU64>,
    stop: AtomicBool,
    lost: AtomicU64,
    max_wake_ns: AtomicU64,
    samples: AtomicU64,
}

impl Supervisor {
    fn run(&self, board: &Board, seg: &Segment) {
        // Per waiter slot: (generation, epoch) of the pending wait and when
        // the count was first seen past its cursor.
        let mut pending: Vec<Option<Pending>> = vec![None; ROLES.len()];
        while !self.stop.load(Ordering::SeqCst) {
            for (slot, role) in ROLES.iter().enumerate() {
                if *role != "waiter" {
                    continue;
                }
                if !self.alive[slot].load(Ordering::SeqCst) {
                    pending[slot] = None;
                    continue;
                }
                let e1 = board.get(slot, EPOCH);
                let waiting = board.get(slot, WAITING) == 1;
                let seen = board.get(slot, SEEN);
                let e2 = board.get(slot, EPOCH);
                let count = seg.notify_count();
                if e1 != e2 {
                    continue;
                }
                let key = (self.generation[slot].load(Ordering::SeqCst), e1);
                let now = Instant::now();
                if let Some((k, since, _)) = pending[slot] {
                    if k != key {
                        // That wait returned: how long after the count moved.
                        let ns = now.duration_since(since).as_nanos() as u64;
                        if k.0 == key.0 {
                            self.max_wake_ns.fetch_max(ns, Ordering::SeqCst);
                        }
                        pending[slot] = None;
                    }
                }
                if waiting && count > seen {
                    match &mut pending[slot] {
                        None => pending[slot] = Some((key, now, false)),
                        Some((_, since, counted)) => {
                            if !*counted && now.duration_since(*since) > LOST_AFTER {
                                *counted = true;
                                self.lost.fetch_add(1, Ordering::SeqCst);
                                report(format!(
                                    "crash-injection: LOST: waiter slot {slot} (pid {}) has seen {seen} \
                                     while the count is {count}, for {LOST_AFTER:?}",
                                    board.get(slot, PID)
                                ));
                            }
                        }
                    }
                }
                self.samples.fetch_add(1, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }
}

/// Kills every child still running when dropped, so a failing run leaves
/// no busy process behind.
struct Reaper(Vec<std::process::Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for child in &mut self.0 {
            if let Ok(None) = child.try_wait() {
                kill9(child);
            }
        }
    }
}

fn spawn_slot(name: &str, board: &Board, slot: usize, rng: &mut Rng) -> std::process::Child {
    board.clear_slot(slot);
    let child = spawn_role(
        ROLES[slot],
        &[
            name,
            board.path(),
            &slot.to_string(),
            &rng.next().to_string(),
        ],
    );
    let start = Instant::now();
    while board.get(slot, READY) != 1 {
        assert!(
            start.elapsed() < HANG,
            "a {} process never became ready",
            ROLES[slot]
        );
        assert_eq!(
            board.get(slot, ERRORS),
            0,
            "a {} process failed to start",
            ROLES[slot]
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    child
}

#[test]
fn crash_injection() {
    let kills: usize = std::env::var("SHMIFACE_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let seed: u64 = std::env::var("SHMIFACE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| Rng::from_time().next());
    report(format!(
        "crash-injection: {kills} kills, seed {seed} (SHMIFACE_CRASH_SEED={seed} repeats the choices)"
    ));
    let mut rng = Rng::new(seed);
    let name = unique("crash");
    let _cleanup = Cleanup(name.clone());
    let owner = Arc::new(
        Segment::create(
            &name,
            &Options {
                capacity: CAP as u64,
                ..Options::default()
            },
        )
        .unwrap(),
    );
    let board = Arc::new(Board::create(ROLES.len()));
    let supervisor = Arc::new(Supervisor {
        alive: ROLES.iter().map(|_| AtomicBool::new(false)).collect(),
        generation: ROLES.iter().map(|_| AtomicU64::new(0)).collect(),
        stop: AtomicBool::new(false),
        lost: AtomicU64::new(0),
        max_wake_ns: AtomicU64::new(0),
        samples: AtomicU64::new(0),
    });
    let mut children = Reaper(
        (0..ROLES.len())
            .map(|slot| {
                let child = spawn_slot(&name, &board, slot, &mut rng);
                supervisor.alive[slot].store(true, Ordering::SeqCst);
                child
            })
            .collect(),
    );
    let watcher = {
        let (sup, board, owner) = (supervisor.clone(), board.clone(), owner.clone());
        std::thread::spawn(move || sup.run(&board, &owner))
    };

    let started = Instant::now();
    let mut totals = Totals::default();
    let mut kills_by_role = [0u64; ROLES.len()];
    for _ in 0..kills {
        std::thread::sleep(Duration::from_micros(rng.below(5000)));
        let slot = rng.below(ROLES.len() as u64) as usize;
        supervisor.alive[slot].store(false, Ordering::SeqCst);
        kill9(&mut children.0[slot]);
        kills_by_role[slot] += 1;
        totals.fold(&board, slot);
        supervisor.generation[slot].fetch_add(1, Ordering::SeqCst);
        children.0[slot] = spawn_slot(&name, &board, slot, &mut rng);
        supervisor.alive[slot].store(true, Ordering::SeqCst);
    }
    // Let the last replacements work a moment, then stop everyone (not counted as kills).
    std::thread::sleep(Duration::from_millis(200));
    supervisor.stop.store(true, Ordering::SeqCst);
    watcher.join().unwrap();
    for (slot, child) in children.0.iter_mut().enumerate() {
        kill9(child);
        totals.fold(&board, slot);
    }
    let elapsed = started.elapsed();

    // The value left behind is whole, and the segment still works.
    let (value, version) = owner.read().unwrap();
    check_pattern(&value, CAP).unwrap();
    owner.write(b"after the storm", true).unwrap();
    let info = owner.info().unwrap();
    let lost = supervisor.lost.load(Ordering::SeqCst);
    let max_wake = Duration::from_nanos(supervisor.max_wake_ns.load(Ordering::SeqCst));
    let max_op = Duration::from_nanos(totals.max_op_ns);
    let max_blocked = max_op.max(max_wake);
    report(format!(
        "crash-injection: kills by role: {}",
        ROLES
            .iter()
            .zip(kills_by_role)
            .map(|(r, n)| format!("{r}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    report(format!(
        "crash-injection: {:.1} s, writes={} set+notify={} notifies={} waits={} last version={version}, \
         writer-lock recoveries={} (kills inside set), max op={:.1} ms, max wake after notify={:.1} ms, \
         waiter samples={}",
        elapsed.as_secs_f64(),
        totals.of("writer"),
        totals.of("setnotifier"),
        totals.of("notifier"),
        totals.of("waiter"),
        info.lock_recoveries,
        max_op.as_secs_f64() * 1e3,
        max_wake.as_secs_f64() * 1e3,
        supervisor.samples.load(Ordering::Relaxed),
    ));
    report(format!(
        "crash-injection: kills={kills} reads={} torn={} lost={lost} max_blocked_ms={} \
         (bound asserted: {} ms)",
        totals.of("reader"),
        totals.torn,
        max_blocked.as_millis(),
        BLOCKED_BOUND.as_millis()
    ));
    Arc::try_unwrap(owner)
        .ok()
        .expect("the supervisor has finished")
        .destroy()
        .unwrap();

    assert_eq!(totals.torn, 0, "torn values were read");
    assert_eq!(lost, 0, "notifications were lost");
    assert_eq!(totals.backwards, 0, "a reader saw the version go back");
    assert_eq!(
        totals.errors, 0,
        "an operation failed (see the lines above)"
    );
    assert!(totals.of("reader") > 0 && totals.of("waiter") > 0);
    assert!(
        max_blocked < BLOCKED_BOUND,
        "a survivor was blocked for {max_blocked:?}"
    );
}
