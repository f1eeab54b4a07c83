//! The core guarantees, shown with real separate processes sharing real
//! shared memory: values cross processes, notifications wake other
//! processes, a writer killed mid-write tears nothing and blocks no one,
//! a dead owner's segment is taken over, and a crowd of writers and readers
//! only ever sees whole values.

mod common;

use std::time::Duration;

use common::{check_pattern, pattern, say, spawn_role, unique, within, Cleanup};
use shmiface::{ErrorKind, Options, Segment};

const CAP: usize = 256;

fn options(capacity: usize) -> Options {
    Options {
        capacity: capacity as u64,
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
        // Writes self-checking values as fast as it can until killed (or
        // `count` times when given).
        "writer" => {
            let seg = Segment::attach(name).unwrap();
            let id: u64 = args[1].parse().unwrap();
            let count: u64 = args.get(2).map_or(u64::MAX, |c| c.parse().unwrap());
            // Prepared in advance, so the writer spends its time inside `write`.
            let values: Vec<_> = (1..=64).map(|c| pattern(id, c, CAP)).collect();
            say("writing");
            for counter in 0..count {
                seg.write(&values[(counter % 64) as usize], false).unwrap();
            }
            0
        }
        // Reads `count` times, checking every value and that versions never go back.
        "reader" => {
            let seg = Segment::attach(name).unwrap();
            let count: u64 = args[1].parse().unwrap();
            let mut buf = vec![0u8; CAP];
            let mut last_version = 0;
            say("reading");
            for _ in 0..count {
                let s = seg.read_into(&mut buf).unwrap();
                if let Err(why) = check_pattern(&buf[..s.len], CAP) {
                    say(format!("torn {why}"));
                    return 3;
                }
                if s.version < last_version {
                    say(format!(
                        "version went back from {last_version} to {}",
                        s.version
                    ));
                    return 4;
                }
                last_version = s.version;
            }
            say(format!("read {count}"));
            0
        }
        // Creates the segment, sets a value, and holds it until killed;
        // with "fork", first leaves a child of its own behind; with "exec",
        // a child that ran another program.
        "owner" => {
            let seg = Segment::create(name, &options(64)).unwrap();
            seg.write(b"precious", false).unwrap();
            if args.get(1).map(String::as_str) == Some("fork") {
                // The child's fork handler runs in the child, after fork()
                // has already returned here: the child says when it has
                // run, or the test would race the scheduler.
                let mut pipe = [0; 2];
                // SAFETY: a plain syscall filling a two-int array.
                assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
                // SAFETY: the child only calls write() and pause(), both
                // async-signal-safe.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    // SAFETY: plain syscalls on the pipe made above.
                    unsafe { libc::write(pipe[1], b"x".as_ptr().cast(), 1) };
                    loop {
                        // SAFETY: plain syscall.
                        unsafe { libc::pause() };
                    }
                }
                let mut byte = 0u8;
                // SAFETY: reading one byte into a local from our own pipe.
                let got = unsafe { libc::read(pipe[0], (&mut byte as *mut u8).cast(), 1) };
                assert_eq!(got, 1, "the forked child did not start");
                say(format!("forked {pid}"));
            }
            if args.get(1).map(String::as_str) == Some("exec") {
                // Command forks (or vforks, where no fork handler runs)
                // and execs; spawn() returns once the exec has happened.
                // This process is killed while the child runs, and the test
                // kills the child: its new parent reaps it.
                #[allow(clippy::zombie_processes)]
                let child = std::process::Command::new("sleep")
                    .arg("300")
                    .spawn()
                    .unwrap();
                say(format!("forked {}", child.id()));
            }
            say("ready");
            loop {
                std::thread::sleep(Duration::from_secs(60));
            }
        }
        // Answers every notification with "echo:<value>", until "quit".
        "echo" => {
            let seg = Segment::attach(name).unwrap();
            let mut seen = seg.notify_count();
            say("listening");
            loop {
                seg.wait(Some(&mut seen), None).unwrap();
                let (value, _) = seg.read().unwrap();
                if value == b"quit" {
                    return 0;
                }
                if !value.starts_with(b"echo:") {
                    let mut answer = b"echo:".to_vec();
                    answer.extend(&value);
                    seg.write(&answer, true).unwrap();
                }
            }
        }
        // Waits forever and reports how the wait ended.
        "waiter" => {
            let seg = Segment::attach(name).unwrap();
            let mut seen = seg.notify_count();
            say("waiting");
            match seg.wait(Some(&mut seen), None) {
                Ok(()) => say("notified"),
                Err(e) => say(format!("{:?}", e.kind())),
            }
            0
        }
        // Adds 1 to a decimal counter `count` times with compare-and-set.
        "incrementer" => {
            let seg = Segment::attach(name).unwrap();
            let count: u64 = args[1].parse().unwrap();
            for _ in 0..count {
                loop {
                    let (value, version) = seg.read().unwrap();
                    let n: u64 = std::str::from_utf8(&value).unwrap().parse().unwrap();
                    match seg.compare_and_set(version, (n + 1).to_string().as_bytes(), false) {
                        Ok(_) => break,
                        Err(e) if e.kind() == ErrorKind::Conflict => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            0
        }
        // Takes the segment over and reports what it found.
        "taker" => {
            let seg = Segment::create(name, &options(64)).unwrap();
            let (value, version) = seg.read().unwrap();
            say(format!("{} {version}", String::from_utf8_lossy(&value)));
            std::mem::forget(seg);
            loop {
                std::thread::sleep(Duration::from_secs(60));
            }
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn a_value_and_notifications_cross_processes() {
    let name = unique("echo");
    let _cleanup = Cleanup(name.clone());
    let seg = Segment::create(&name, &options(CAP)).unwrap();
    let mut echo = spawn_role("echo", &[&name]);
    assert_eq!(echo.line(), "listening");
    let mut seen = seg.notify_count();
    for i in 0..300 {
        let msg = format!("message {i}");
        seg.write(msg.as_bytes(), true).unwrap();
        // Skip our own notification, then take the answer.
        let expected = format!("echo:{msg}").into_bytes();
        loop {
            seg.wait(Some(&mut seen), Some(common::HANG)).unwrap();
            if seg.read().unwrap().0 == expected {
                break;
            }
        }
    }
    seg.write(b"quit", true).unwrap();
    assert_eq!(echo.exit_code(), 0);
    seg.destroy().unwrap();
}

#[test]
fn destroy_wakes_a_waiter_in_another_process() {
    let name = unique("destroy");
    let _cleanup = Cleanup(name.clone());
    let seg = Segment::create(&name, &Options::default()).unwrap();
    let mut waiter = spawn_role("waiter", &[&name]);
    assert_eq!(waiter.line(), "waiting");
    // Let it get past its spin and into the futex sleep.
    std::thread::sleep(Duration::from_millis(100));
    seg.destroy().unwrap();
    assert_eq!(waiter.line(), "Destroyed");
    assert_eq!(waiter.exit_code(), 0);
    assert_eq!(
        Segment::attach(&name).err().map(|e| e.kind()),
        Some(ErrorKind::NotFound)
    );
}

#[test]
fn writers_killed_mid_write_tear_nothing_and_block_no_one() {
    let name = unique("kill");
    let _cleanup = Cleanup(name.clone());
    let seg = Segment::create(&name, &options(CAP)).unwrap();
    let mut reader = spawn_role("reader", &[&name, "3000000"]);
    assert_eq!(reader.line(), "reading");
    let mut buf = vec![0u8; CAP];
    let kills = 40;
    for round in 0..kills {
        let mut writer = spawn_role("writer", &[&name, &round.to_string()]);
        assert_eq!(writer.line(), "writing");
        let before = seg.peek().unwrap().version;
        // Let it write for a moment, so the kill lands inside a write most times.
        while seg.peek().unwrap().version < before + 50 {
            std::hint::spin_loop();
        }
        std::thread::sleep(Duration::from_micros(200 + (round * 137) % 2000));
        writer.kill();
        let s = seg.read_into(&mut buf).unwrap();
        check_pattern(&buf[..s.len], CAP).unwrap();
        // The next write must succeed at once, whatever the lock was doing.
        let name2 = name.clone();
        let version = within("a write after a kill", move || {
            Segment::attach(&name2)
                .unwrap()
                .write(&pattern(999, round + 1, CAP), false)
        })
        .unwrap();
        assert!(version > s.version);
    }
    let code = reader.exit_code();
    assert_eq!(
        code, 0,
        "the reader saw a torn value or a version going back"
    );
    let recoveries = seg.info().unwrap().lock_recoveries;
    assert!(
        recoveries > 0,
        "no kill landed inside a write, so this proved nothing"
    );
    eprintln!("{kills} writers killed, {recoveries} of them holding the writer lock");
    seg.destroy().unwrap();
}

#[test]
fn many_writers_and_readers_only_ever_see_whole_values() {
    let name = unique("hammer");
    let _cleanup = Cleanup(name.clone());
    let seg = Segment::create(&name, &options(CAP)).unwrap();
    let writes = 20_000u64;
    let mut readers: Vec<_> = (0..3)
        .map(|_| spawn_role("reader", &[&name, "200000"]))
        .collect();
    let mut writers: Vec<_> = (1..=3u64)
        .map(|id| spawn_role("writer", &[&name, &id.to_string(), &writes.to_string()]))
        .collect();
    for w in &mut writers {
        assert_eq!(w.exit_code(), 0);
    }
    for r in &mut readers {
        assert_eq!(r.line(), "reading");
        assert_eq!(r.exit_code(), 0, "a reader saw a torn value");
    }
    assert_eq!(seg.peek().unwrap().version, 3 * writes);
    seg.destroy().unwrap();
}

#[test]
fn compare_and_set_loses_no_update_across_processes() {
    let name = unique("cas");
    let _cleanup = Cleanup(name.clone());
    let seg = Segment::create(&name, &Options::default()).unwrap();
    seg.write(b"0", false).unwrap();
    let mut children: Vec<_> = (0..4)
        .map(|_| spawn_role("incrementer", &[&name, "500"]))
        .collect();
    for c in &mut children {
        assert_eq!(c.exit_code(), 0);
    }
    assert_eq!(seg.read().unwrap().0, b"2000");
    seg.destroy().unwrap();
}

#[test]
fn a_dead_owners_segment_is_taken_over_with_its_value() {
    let name = unique("takeover");
    let _cleanup = Cleanup(name.clone());
    let mut owner = spawn_role("owner", &[&name]);
    assert_eq!(owner.line(), "ready");
    let attached = Segment::attach(&name).unwrap();
    let info = attached.info().unwrap();
    assert!(info.owner_alive);
    assert_eq!(info.owner_pid, owner.pid());
    let refused = Segment::create(&name, &options(64)).err().unwrap();
    assert_eq!(refused.kind(), ErrorKind::Exists);

    owner.kill();
    let info = attached.info().unwrap();
    assert!(!info.owner_alive, "the owner is dead");
    // Attachers keep working without an owner.
    attached.write(b"still here", false).unwrap();

    let mut taker = spawn_role("taker", &[&name]);
    assert_eq!(taker.line(), "still here 2");
    let info = attached.info().unwrap();
    assert!(info.owner_alive);
    assert_eq!(info.owner_pid, taker.pid());
    taker.kill();

    // And this process can take it over too, keeping the value.
    let owner_here = Segment::create(&name, &options(64)).unwrap();
    assert!(owner_here.is_owner());
    assert_eq!(owner_here.read().unwrap().0, b"still here");
    owner_here.destroy().unwrap();
    assert_eq!(
        attached.read().err().map(|e| e.kind()),
        Some(ErrorKind::Destroyed)
    );
}

#[test]
fn a_takeover_with_another_capacity_replaces_the_segment() {
    let name = unique("recap");
    let _cleanup = Cleanup(name.clone());
    let mut owner = spawn_role("owner", &[&name]);
    assert_eq!(owner.line(), "ready");
    let attached = Segment::attach(&name).unwrap();
    owner.kill();
    let bigger = Segment::create(&name, &options(4096)).unwrap();
    assert_eq!(bigger.capacity(), 4096);
    assert_eq!(bigger.peek().unwrap().len, 0, "a new object starts empty");
    assert_eq!(
        attached.read().err().map(|e| e.kind()),
        Some(ErrorKind::Destroyed)
    );
    bigger.destroy().unwrap();
}

#[test]
fn a_forked_child_does_not_keep_a_dead_owner_alive() {
    let name = unique("fork");
    let _cleanup = Cleanup(name.clone());
    let (attached, _grandchild) = owner_killed_leaving_a_child(&name, "fork");
    assert!(
        !attached.info().unwrap().owner_alive,
        "the owner's forked child must not count as the owner"
    );
}

/// The descriptors of a segment are close-on-exec: a program the owner
/// started does not keep it alive once the owner is dead.
#[test]
fn a_program_the_owner_started_does_not_keep_it_alive() {
    let name = unique("exec");
    let _cleanup = Cleanup(name.clone());
    let (attached, child) = owner_killed_leaving_a_child(&name, "exec");
    // SAFETY: signal 0 only asks whether the pid exists.
    assert_eq!(
        unsafe { libc::kill(child.0, 0) },
        0,
        "the program still runs"
    );
    assert!(
        !attached.info().unwrap().owner_alive,
        "a program the owner exec'd must not count as the owner"
    );
    let taken = Segment::create(&name, &options(64)).unwrap();
    assert!(taken.is_owner());
}

/// An owner that left a child behind (`how`: "fork" or "exec"), killed
/// once this process has attached: the attachment, and the child.
fn owner_killed_leaving_a_child(name: &str, how: &str) -> (Segment, KillOnDrop) {
    let mut owner = spawn_role("owner", &[name, how]);
    let pid: i32 = owner
        .line()
        .strip_prefix("forked ")
        .unwrap()
        .parse()
        .unwrap();
    let child = KillOnDrop(pid);
    assert_eq!(owner.line(), "ready");
    let attached = Segment::attach(name).unwrap();
    owner.kill();
    (attached, child)
}

/// A process this test did not spawn directly, killed however the test ends.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: a plain syscall on a pid we were told about.
        unsafe { libc::kill(self.0, libc::SIGKILL) };
    }
}
