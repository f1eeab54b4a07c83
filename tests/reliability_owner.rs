//! Owner death at a random moment of its life, many times: a process
//! creates, writes and destroys one segment in a tight loop, and is
//! SIGKILLed at a random moment (so inside creation, inside a set, inside
//! destroy, or between them). After each kill, an attacher gets a segment
//! (with owner_alive false, and a whole value), NOT_FOUND, NOT_READY or
//! DESTROYED, in bounded time, never INCOMPATIBLE or a hang; and a new
//! init_instance always takes the name over and works.
//!
//! The exact stages (before the lock, before sizing, mid-header, holding the
//! writer lock, while others wait, and the races of a paused creator) are
//! made deterministic in tests/reliability/owner_stages.c.
//!
//! `SHMIFACE_CREATE_KILLS` (default 100; `make stress` uses 1000).

mod reliability_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reliability_support::{
    check_pattern, kill9, pattern, report, spawn_role, unique, Cleanup, Rng,
};
use shmiface::{ErrorKind, Options, Segment};

const CAP: usize = 96;

#[test]
fn child_entry() {
    if let Some((role, args)) = reliability_support::role_from_env() {
        assert_eq!(role, "churn");
        let name = &args[0];
        let opts = Options {
            capacity: CAP as u64,
            ..Options::default()
        };
        for counter in 1.. {
            // Another process may briefly own it (the parent, taking over).
            if let Ok(seg) = Segment::create(name, &opts) {
                seg.write(&pattern(7, counter, CAP), true).unwrap();
                seg.destroy().unwrap();
            }
        }
    }
}

/// What the raw object looks like after the kill (for the report).
fn stage(name: &str) -> &'static str {
    match std::fs::read(reliability_support::shm_path(name)) {
        Err(_) => "no object",
        Ok(b) if b.is_empty() => "empty object",
        Ok(b) if b.iter().take(64).all(|&x| x == 0) => "zero header",
        Ok(b) if b.len() >= 64 && b[48..52] == [0, 0, 0, 0] => "magic, initialising",
        Ok(b) if b.len() >= 64 && b[48] == 1 => "ready",
        Ok(b) if b.len() >= 64 && b[48] == 2 => "destroyed state",
        Ok(_) => "other",
    }
}

#[test]
fn an_owner_killed_at_random_moments_is_always_taken_over() {
    let kills: usize = std::env::var("SHMIFACE_CREATE_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let mut rng = Rng::from_time();
    let seed = rng.next();
    let mut rng = Rng::new(seed);
    let name = unique("churn");
    let _cleanup = Cleanup(name.clone());
    let opts = Options {
        capacity: CAP as u64,
        ..Options::default()
    };
    let mut stages: BTreeMap<&str, u32> = BTreeMap::new();
    let mut attach: BTreeMap<String, u32> = BTreeMap::new();
    let mut max_attach = Duration::ZERO;
    let mut max_create = Duration::ZERO;
    for _ in 0..kills {
        let mut child = spawn_role("churn", &[&name]);
        std::thread::sleep(Duration::from_micros(2000 + rng.below(4000)));
        kill9(&mut child);
        *stages.entry(stage(&name)).or_default() += 1;

        let start = Instant::now();
        let attached = Segment::attach_within(&name, Duration::from_millis(20));
        max_attach = max_attach.max(start.elapsed());
        let outcome = match &attached {
            Ok(seg) => {
                let info = seg.info().unwrap();
                assert!(!info.owner_alive, "the owner is dead: {info:?}");
                let (v, _) = seg.read().unwrap();
                check_pattern(&v, CAP).unwrap();
                "Ok".to_string()
            }
            Err(e) => {
                assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::NotFound | ErrorKind::NotReady | ErrorKind::Destroyed
                    ),
                    "attach after a kill gave {:?}: {e}",
                    e.kind()
                );
                format!("{:?}", e.kind())
            }
        };
        *attach.entry(outcome).or_default() += 1;
        drop(attached);

        let start = Instant::now();
        let owner = Segment::create(&name, &opts)
            .unwrap_or_else(|e| panic!("init_instance after a kill gave {:?}: {e}", e.kind()));
        max_create = max_create.max(start.elapsed());
        assert!(owner.info().unwrap().owner_alive);
        owner.write(b"mine now", false).unwrap();
        assert_eq!(owner.read().unwrap().0, b"mine now");
        owner.destroy().unwrap();
        assert!(!reliability_support::exists(&name));
    }
    report(format!(
        "owner-churn: {kills} kills (seed {seed}); object found after the kill: {stages:?}; \
         attach gave {attach:?}; max attach {:.0} ms, max takeover {:.1} ms; every init_instance took over",
        max_attach.as_secs_f64() * 1e3,
        max_create.as_secs_f64() * 1e3
    ));
}
