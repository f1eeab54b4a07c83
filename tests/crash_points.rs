//! The crash-point suite: real processes, each put at an exact step of a
//! protocol by the library's test build (`--features failpoints`, the
//! `SHMIFACE_FAILPOINTS` variable), where a crash or a stall would break a
//! guarantee if the protocol were wrong. Each test names the point, the
//! interleaving, and the guarantee its assertions check: no torn value, no
//! value that was never published, no version going backwards, no lost
//! update, one owner, no lost wake-up, no crash.
//!
//! Run by `make test-crash-points`, which builds the feature variant once.
#![cfg(feature = "failpoints")]

mod common;

use std::ffi::CString;
use std::os::unix::fs::FileExt;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{check_pattern, pattern, say, spawn_role, spawn_role_env, unique, Cleanup, HANG};
use shmiface::{ffi, ErrorKind, Options, Segment};

const CAP: usize = 4096;
const SIGKILL: i32 = 9;

fn options() -> Options {
    Options {
        capacity: CAP as u64,
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

/// Blocks the calling thread for ever without sleeping in nanosleep (which
/// `wait_until_paused` would take for a crash point).
fn hold() -> ! {
    loop {
        std::thread::park();
    }
}

fn run_role(role: &str, args: &[String]) -> i32 {
    let name = args[0].as_str();
    match role {
        // Creates the segment with a first value, and holds it.
        "owner" => {
            let seg = Segment::create(name, &options()).unwrap();
            seg.write(&pattern(1, 1, CAP), false).unwrap();
            say("ready");
            hold()
        }
        // Writes one value (writer id, counter) and reports its version.
        "write" => {
            let seg = Segment::attach(name).unwrap();
            let id: u64 = args[1].parse().unwrap();
            let counter: u64 = args[2].parse().unwrap();
            let version = seg.write(&pattern(id, counter, CAP), false).unwrap();
            say(format!("wrote {version}"));
            0
        }
        // Reads twice and reports what each read returned.
        "read" => {
            let seg = Segment::attach(name).unwrap();
            let mut buf = vec![0u8; CAP];
            say("reading");
            for _ in 0..2 {
                let s = seg.read_into(&mut buf).unwrap();
                let v = &buf[..s.len];
                let verdict = match check_pattern(v, CAP) {
                    Ok(()) => "whole".to_owned(),
                    Err(why) => format!("torn: {why}"),
                };
                say(format!("{} {} {verdict}", s.version, tag_of(v)));
            }
            0
        }
        "notify" => {
            let seg = Segment::attach(name).unwrap();
            seg.notify().unwrap();
            say("notified");
            0
        }
        // init_instance, and report whether it made this process the owner.
        "take" => match Segment::create(name, &options()) {
            Ok(seg) => {
                say(format!("owner {}", seg.is_owner()));
                hold()
            }
            Err(e) => {
                say(format!("refused {:?}", e.kind()));
                0
            }
        },
        // Attaches, and keeps one thread waiting for notifications.
        "attach-and-wait" => {
            let seg = std::sync::Arc::new(Segment::attach(name).unwrap());
            let waiter = std::sync::Arc::clone(&seg);
            std::thread::spawn(move || loop {
                let _ = waiter.wait(None, None);
            });
            say("attached");
            hold()
        }
        // The owner, which destroys the segment when notified.
        "destroy-on-notify" => {
            let seg = Segment::create(name, &options()).unwrap();
            let mut seen = seg.notify_count();
            say("ready");
            seg.wait(Some(&mut seen), None).unwrap();
            seg.destroy().unwrap();
            say("destroyed");
            0
        }
        // One thread releases the last handle of a persistent owner while
        // another thread of the same process creates the name again.
        "release-and-recreate" => {
            let persistent = Options {
                persistent: true,
                ..options()
            };
            let first = Segment::create(name, &persistent).unwrap();
            first.write(b"first", false).unwrap();
            let releasing = std::thread::spawn(move || first.destroy().unwrap());
            wait_for_nanosleep_of_another_thread();
            let second = Segment::create(name, &persistent).unwrap();
            releasing.join().unwrap();
            second.write(b"second", false).unwrap();
            say(format!("owner {}", second.is_owner()));
            hold()
        }
        // One thread releases the last handle of an attached mapping while
        // another thread of the same process attaches the name again and
        // waits on it.
        "release-and-reattach" => {
            let first = Segment::attach(name).unwrap();
            let releasing = std::thread::spawn(move || drop(first));
            wait_for_nanosleep_of_another_thread();
            let second = std::sync::Arc::new(Segment::attach(name).unwrap());
            releasing.join().unwrap();
            let waiter = std::sync::Arc::clone(&second);
            std::thread::spawn(move || loop {
                let _ = waiter.wait(None, None);
            });
            say("attached");
            hold()
        }
        // Opens and closes the object by other means than shmiface (as
        // Python's SharedMemory(name).close() does), then reports.
        "owner-closes-another-descriptor" => {
            let seg = Segment::create(name, &options()).unwrap();
            let path = format!("/dev/shm/{name}");
            for _ in 0..3 {
                drop(std::fs::File::open(&path).unwrap());
            }
            say(format!("owner {}", seg.is_owner()));
            hold()
        }
        "misconfigured" => {
            let cname = CString::new(name).unwrap();
            let mut seg = std::ptr::null_mut();
            // SAFETY: valid name and out-pointer.
            let status = unsafe { ffi::shmiface_get_instance(cname.as_ptr(), &mut seg) };
            let mut detail = vec![0u8; 512];
            // SAFETY: a buffer of its length.
            let n = unsafe { ffi::shmiface_last_error(detail.as_mut_ptr().cast(), detail.len()) };
            say(format!(
                "{status} {}",
                String::from_utf8_lossy(&detail[..n.min(511)])
            ));
            0
        }
        other => panic!("unknown role {other}"),
    }
}

/// The "tag" of a value made by `pattern`: "writer:counter" (or "empty").
fn tag_of(v: &[u8]) -> String {
    if v.len() < 8 {
        return "empty".into();
    }
    let tag = u64::from_le_bytes(v[..8].try_into().unwrap());
    format!("{}:{}", tag >> 48, tag & ((1 << 48) - 1))
}

fn wait_for_nanosleep_of_another_thread() {
    // SAFETY: a plain syscall.
    let me = format!("{}", unsafe { libc::gettid() });
    let start = Instant::now();
    loop {
        let paused = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter(|t| t.file_name().to_string_lossy() != me)
            .any(|t| {
                std::fs::read_to_string(t.path().join("wchan"))
                    .is_ok_and(|w| w.contains("nanosleep"))
            });
        if paused {
            return;
        }
        assert!(start.elapsed() < HANG, "the other thread never paused");
        std::hint::spin_loop();
    }
}

fn fp(spec: &str) -> [(&'static str, &str); 1] {
    [("SHMIFACE_FAILPOINTS", spec)]
}

fn report(line: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "crash point: {line}");
}

fn read_checked(seg: &Segment) -> (u64, Vec<u8>) {
    let (v, version) = seg.read().unwrap();
    check_pattern(&v, CAP).unwrap_or_else(|why| panic!("torn value: {why}"));
    (version, v)
}

#[test]
fn misconfigured_points_fail_every_call_loudly() {
    let name = unique("misconf");
    for spec in [
        "write.copyed=kill",
        "write.copied",
        "read.picked=sleep(soon)",
    ] {
        let mut child = spawn_role_env("misconfigured", &[&name], &fp(spec));
        let line = child.line();
        assert!(
            line.starts_with(&format!("{} ", ffi::SHMIFACE_ERR_INVALID_ARGUMENT)),
            "{spec}: {line}"
        );
        assert!(line.contains("SHMIFACE_FAILPOINTS"), "{spec}: {line}");
        assert_eq!(child.exit_code(), 0);
    }
    report("misconfigured: 3 specs, every call INVALID_ARGUMENT");
}

/// write.copying: a writer killed with half a value copied exposes none of
/// it, and the next writer takes the lock over and reuses the version the
/// dead one never published.
#[test]
fn a_writer_killed_mid_copy_exposes_nothing_and_blocks_no_one() {
    let name = unique("copying");
    let _cleanup = Cleanup(name.clone());
    let owner = Segment::create(&name, &options()).unwrap();
    owner.write(&pattern(1, 1, CAP), false).unwrap();
    let mut writer = spawn_role_env("write", &[&name, "2", "500"], &fp("write.copying=kill"));
    assert_eq!(writer.end_signal(), Some(SIGKILL));
    let (version, v) = read_checked(&owner);
    assert_eq!((version, tag_of(&v).as_str()), (1, "1:1"));
    let next = owner.write(&pattern(3, 2, CAP), false).unwrap();
    assert_eq!(next, 2, "the unpublished version is reused, never skipped");
    assert_eq!(owner.info().unwrap().lock_recoveries, 1);
    assert_eq!(tag_of(&read_checked(&owner).1), "3:2");
    report("write.copying: killed writer, old value whole, lock recovered once");
}

/// write.copied, with read.picked: the interleaving of the two-slot defect.
/// A reader picks version 1 (slot 1) and stalls; version 2 is written
/// (slot 0); a writer fills slot 1 with version 3, its sequence even again,
/// and is killed before publishing. The reader must not return that value
/// (never published), nor then go back to version 2; and the next write of
/// version 3 must not let a compare-and-set built on the ghost succeed.
#[test]
fn a_value_filled_but_never_published_is_never_read() {
    let name = unique("copied");
    let _cleanup = Cleanup(name.clone());
    let owner = Segment::create(&name, &options()).unwrap();
    owner.write(&pattern(1, 1, CAP), false).unwrap();
    let reader = spawn_role_env("read", &[&name], &fp("read.picked=1*sleep(1500)"));
    assert_eq!(reader.line(), "reading");
    reader.wait_until_paused();
    assert_eq!(owner.write(&pattern(2, 2, CAP), false).unwrap(), 2);
    let mut ghost = spawn_role_env("write", &[&name, "9", "3"], &fp("write.copied=kill"));
    assert_eq!(ghost.end_signal(), Some(SIGKILL));
    let first = reader.line();
    let second = reader.line();
    assert_eq!(
        first, "2 2:2 whole",
        "the stalled read returns the published value"
    );
    assert_eq!(second, "2 2:2 whole", "and the next read does not go back");
    // The next write gets version 3; a compare-and-set expecting the
    // reader's version 2 now conflicts instead of overwriting it unseen.
    assert_eq!(owner.write(&pattern(4, 3, CAP), false).unwrap(), 3);
    let e = owner
        .compare_and_set(2, &pattern(5, 4, CAP), false)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(tag_of(&read_checked(&owner).1), "4:3");
    report("write.copied + read.picked: ghost value never read, versions 2, 2, 3, no lost update");
}

/// read.picked: a reader stalled after picking a slot, while writers fill
/// that very slot and the other one, retries and returns a whole value.
#[test]
fn a_reader_overtaken_at_its_pick_returns_a_whole_newer_value() {
    let name = unique("picked");
    let _cleanup = Cleanup(name.clone());
    let owner = Segment::create(&name, &options()).unwrap();
    owner.write(&pattern(1, 1, CAP), false).unwrap();
    let reader = spawn_role_env("read", &[&name], &fp("read.picked=1*sleep(800)"));
    assert_eq!(reader.line(), "reading");
    reader.wait_until_paused();
    for counter in 2..=5 {
        owner.write(&pattern(2, counter, CAP), false).unwrap();
    }
    assert_eq!(reader.line(), "5 2:5 whole");
    assert_eq!(reader.line(), "5 2:5 whole");
    report("read.picked: overtaken by 4 writes, read version 5 whole");
}

/// write.published: a writer killed after publishing, still holding the
/// lock: its value is visible and whole, the next writer recovers the lock
/// and continues the versions without a repeat.
#[test]
fn a_writer_killed_after_publishing_leaves_its_value_and_the_lock_recovers() {
    let name = unique("published");
    let _cleanup = Cleanup(name.clone());
    let owner = Segment::create(&name, &options()).unwrap();
    owner.write(&pattern(1, 1, CAP), false).unwrap();
    let mut writer = spawn_role_env("write", &[&name, "2", "7"], &fp("write.published=kill"));
    assert_eq!(writer.end_signal(), Some(SIGKILL));
    let (version, v) = read_checked(&owner);
    assert_eq!((version, tag_of(&v).as_str()), (2, "2:7"));
    assert_eq!(owner.write(&pattern(3, 8, CAP), false).unwrap(), 3);
    assert_eq!(owner.info().unwrap().lock_recoveries, 1);
    report("write.published: value 2 visible, lock recovered, next version 3");
}

/// notify.counted: a notifier killed after counting and before waking
/// anyone. A waiter asleep in the kernel still returns with the new count.
#[test]
fn a_notifier_killed_before_waking_loses_no_wake_up() {
    let name = unique("counted");
    let _cleanup = Cleanup(name.clone());
    let owner = std::sync::Arc::new(Segment::create(&name, &options()).unwrap());
    shmiface::set_spin_ns(0);
    let seen = owner.notify_count();
    let (tx, rx) = mpsc::channel();
    let waiter = std::sync::Arc::clone(&owner);
    std::thread::spawn(move || {
        let mut s = seen;
        let r = waiter.wait(Some(&mut s), None);
        let _ = tx.send((r, s, Instant::now()));
    });
    let start = Instant::now();
    while owner.info().unwrap().waiters == 0 {
        assert!(start.elapsed() < HANG);
        std::thread::yield_now();
    }
    let mut notifier = spawn_role_env("notify", &[&name], &fp("notify.counted=kill"));
    assert_eq!(notifier.end_signal(), Some(SIGKILL));
    let killed = Instant::now();
    let (result, count, woke) = rx.recv_timeout(HANG).expect("the wake-up was lost");
    assert!(result.is_ok());
    assert_eq!(count, seen + 1);
    report(format!(
        "notify.counted: notifier killed, waiter woke {:.0} ms later with the count",
        woke.saturating_duration_since(killed).as_secs_f64() * 1e3
    ));
}

/// create.reserved: a creator killed with the storage reserved and the
/// segment not ready. Attachers get NOT_READY in bounded time; the next
/// init_instance replaces the dead creation with a fresh segment.
#[test]
fn a_creator_killed_before_ready_is_replaced() {
    let name = unique("reserved");
    let _cleanup = Cleanup(name.clone());
    let mut creator = spawn_role_env("take", &[&name], &fp("create.reserved=kill"));
    assert_eq!(creator.end_signal(), Some(SIGKILL));
    let e = Segment::attach_within(&name, Duration::from_millis(100)).err();
    assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::NotReady));
    let owner = Segment::create(&name, &options()).unwrap();
    assert!(owner.is_owner());
    assert_eq!(owner.peek().unwrap().version, 0);
    report("create.reserved: killed creator, NOT_READY, then a fresh segment");
}

/// create.reserved, paused: an attacher of the paused segment waits, and
/// an attach of another name in the same process goes on meanwhile (the
/// wait for readiness holds no process-wide lock).
#[test]
fn waiting_for_a_paused_creation_blocks_no_other_attach() {
    let name = unique("paused");
    let other = unique("other");
    let _c = (Cleanup(name.clone()), Cleanup(other.clone()));
    let _other_owner = Segment::create(&other, &options()).unwrap();
    let creator = spawn_role_env("take", &[&name], &fp("create.reserved=sleep(2500)"));
    creator.wait_until_paused();
    let (tx, rx) = mpsc::channel();
    let waiting_name = name.clone();
    std::thread::spawn(move || {
        let r = Segment::attach_within(&waiting_name, Duration::from_secs(2));
        let _ = tx.send(r.map(|_| ()).map_err(|e| e.kind()));
    });
    // Let the first attach start waiting, then attach the other name.
    std::thread::sleep(Duration::from_millis(100));
    Segment::attach(&other).unwrap();
    assert!(
        rx.try_recv().is_err(),
        "the other attach finished while the first still waits"
    );
    assert_eq!(rx.recv_timeout(HANG).unwrap(), Err(ErrorKind::NotReady));
    assert_eq!(creator.line(), "owner true");
    report("create.reserved paused: an attach of another name did not wait");
}

/// takeover.stale: a taker pauses after finding the owner dead and before
/// locking; meanwhile the name is removed and created anew by a live
/// owner. The taker must not become a second owner of the old object.
#[test]
fn a_taker_paused_before_locking_never_makes_a_second_owner() {
    let name = unique("stale");
    let _cleanup = Cleanup(name.clone());
    let mut dead = spawn_role("owner", &[&name]);
    assert_eq!(dead.line(), "ready");
    dead.kill();
    let taker = spawn_role_env("take", &[&name], &fp("takeover.stale=sleep(1000)"));
    taker.wait_until_paused();
    shmiface::unlink(&name).unwrap();
    let fresh = Segment::create(&name, &options()).unwrap();
    assert_eq!(taker.line(), "refused Exists");
    let info = Segment::attach(&name).unwrap().info().unwrap();
    assert!(info.is_owner || info.owner_pid == std::process::id() as i32);
    assert!(fresh.is_owner());
    report("takeover.stale: the paused taker was refused (EXISTS), one owner");
}

/// takeover.owned, with an attacher already there: the taker cannot be
/// alone with the segment, so it resets nothing; the attacher's waiter
/// stays counted and its writes stay whole.
#[test]
fn a_taker_that_is_not_alone_resets_nothing() {
    let name = unique("owned");
    let _cleanup = Cleanup(name.clone());
    let mut dead = spawn_role("owner", &[&name]);
    assert_eq!(dead.line(), "ready");
    dead.kill();
    let attacher = spawn_role("attach-and-wait", &[&name]);
    assert_eq!(attacher.line(), "attached");
    let seg = Segment::attach(&name).unwrap();
    wait_for_waiters(&seg, 1);
    let taker = spawn_role_env("take", &[&name], &fp("takeover.owned=sleep(500)"));
    taker.wait_until_paused();
    for counter in 2..100 {
        seg.write(&pattern(2, counter, CAP), true).unwrap();
        read_checked(&seg);
    }
    assert_eq!(taker.line(), "owner true");
    let info = seg.info().unwrap();
    assert_eq!(info.waiters, 1, "the attacher's waiter is still counted");
    assert!(info.owner_alive);
    report("takeover.owned, not alone: nothing reset, waiters 1, 98 writes whole");
}

/// takeover.owned, alone: the taker holds the segment exclusively across
/// its reset, so an attacher arriving during the pause waits for the reset
/// to end, and the counts it then makes are never reset under it (no
/// waiter count wraps to 4294967295).
#[test]
fn an_attacher_arriving_during_a_reset_waits_for_it() {
    let name = unique("claimed");
    let _cleanup = Cleanup(name.clone());
    let mut dead = spawn_role("owner", &[&name]);
    assert_eq!(dead.line(), "ready");
    dead.kill();
    let taker = spawn_role_env("take", &[&name], &fp("takeover.owned=sleep(500)"));
    taker.wait_until_paused();
    let attacher = spawn_role("attach-and-wait", &[&name]);
    assert_eq!(taker.line(), "owner true");
    assert_eq!(attacher.line(), "attached");
    let seg = Segment::attach(&name).unwrap();
    wait_for_waiters(&seg, 1);
    seg.notify().unwrap();
    for counter in 2..100 {
        seg.write(&pattern(2, counter, CAP), true).unwrap();
    }
    let info = seg.info().unwrap();
    assert_eq!(info.waiters, 1, "the waiter is counted exactly once");
    report("takeover.owned, alone: the attacher waited for the reset; waiters 1");
}

fn wait_for_waiters(seg: &Segment, n: u32) {
    let start = Instant::now();
    while seg.info().unwrap().waiters < n {
        assert!(start.elapsed() < HANG, "no waiter came");
        std::thread::yield_now();
    }
}

/// destroy.marked: an owner killed after marking the segment destroyed and
/// before unlinking the name. Waiters are woken with DESTROYED, and the
/// next init_instance replaces the segment.
#[test]
fn an_owner_killed_mid_destroy_wakes_waiters_and_is_replaced() {
    let name = unique("marked");
    let _cleanup = Cleanup(name.clone());
    let mut owner = spawn_role_env("destroy-on-notify", &[&name], &fp("destroy.marked=kill"));
    assert_eq!(owner.line(), "ready");
    let seg = std::sync::Arc::new(Segment::attach(&name).unwrap());
    let (tx, rx) = mpsc::channel();
    let waiter = std::sync::Arc::clone(&seg);
    let mut seen = seg.notify_count() + 1;
    std::thread::spawn(move || {
        let _ = tx.send(waiter.wait(Some(&mut seen), None).map_err(|e| e.kind()));
    });
    seg.notify().unwrap();
    assert_eq!(owner.end_signal(), Some(SIGKILL));
    assert_eq!(rx.recv_timeout(HANG).unwrap(), Err(ErrorKind::Destroyed));
    assert!(common_exists(&name), "killed before unlinking");
    let fresh = Segment::create(&name, &options()).unwrap();
    assert_eq!(fresh.peek().unwrap().version, 0);
    assert_eq!(
        seg.read().err().map(|e| e.kind()),
        Some(ErrorKind::Destroyed)
    );
    report("destroy.marked: waiter got DESTROYED, name replaced by a fresh segment");
}

fn common_exists(name: &str) -> bool {
    std::path::Path::new("/dev/shm").join(name).exists()
}

/// release.closing: the last handle of a mapping is released (its owner
/// lock given up) and its descriptor not yet closed, while another thread
/// of the process creates the name again. Closing the old descriptor must
/// not drop the new owner's lock: a third process is refused.
#[test]
fn releasing_a_mapping_never_drops_a_new_owner_lock() {
    let name = unique("closing");
    let _cleanup = Cleanup(name.clone());
    let owner = spawn_role_env(
        "release-and-recreate",
        &[&name],
        &fp("release.closing=1*sleep(500)"),
    );
    assert_eq!(owner.line(), "owner true");
    let e = Segment::create(&name, &options()).err().map(|e| e.kind());
    assert_eq!(e, Some(ErrorKind::Exists), "two owners");
    let info = Segment::attach(&name).unwrap().info().unwrap();
    assert!(info.owner_alive && info.owner_pid == owner.pid());
    report("release.closing: the new owner kept its lock; a third init_instance got EXISTS");
}

/// release.closing, the attach half: an attacher's last handle of a
/// mapping is released (descriptor not yet closed) while another of its
/// threads attaches again and waits. Closing the old descriptor must not
/// drop the new mapping's attach presence: once the owner dies, a taker
/// is not alone, so it resets nothing and the waiter stays counted.
#[test]
fn releasing_a_mapping_never_drops_a_new_attach_presence() {
    let name = unique("reattach");
    let _cleanup = Cleanup(name.clone());
    let mut owner = spawn_role("owner", &[&name]);
    assert_eq!(owner.line(), "ready");
    let attacher = spawn_role_env(
        "release-and-reattach",
        &[&name],
        &fp("release.closing=1*sleep(500)"),
    );
    assert_eq!(attacher.line(), "attached");
    {
        // This process looks, then lets go: the attacher must be the only
        // one left besides the owner.
        let seg = Segment::attach(&name).unwrap();
        wait_for_waiters(&seg, 1);
    }
    owner.kill();
    let taker = spawn_role("take", &[&name]);
    assert_eq!(taker.line(), "owner true");
    let info = Segment::attach(&name).unwrap().info().unwrap();
    assert_eq!(
        info.waiters, 1,
        "a takeover reset the count under the attacher"
    );
    assert!(info.owner_alive && info.owner_pid == taker.pid());
    report("release.closing, attach: the attacher stayed present; the taker reset nothing");
}

/// Not a crash point, the same guarantee: an owner that opens and closes
/// the object by other means stays the owner.
#[test]
fn closing_another_descriptor_of_the_object_changes_nothing() {
    let name = unique("otherfd");
    let _cleanup = Cleanup(name.clone());
    let owner = spawn_role("owner-closes-another-descriptor", &[&name]);
    assert_eq!(owner.line(), "owner true");
    let e = Segment::create(&name, &options()).err().map(|e| e.kind());
    assert_eq!(e, Some(ErrorKind::Exists));
    assert!(Segment::attach(&name).unwrap().info().unwrap().owner_alive);
}

/// write.copying, paused: a peer with write access scribbles over the
/// writer lock word and the slot headers while a writer holds the lock.
/// The writer finishes without a fault: nothing in the segment is a
/// pointer it writes through.
#[test]
fn a_scribbled_lock_never_makes_a_writer_fault() {
    let name = unique("scribble");
    let _cleanup = Cleanup(name.clone());
    let owner = Segment::create(&name, &options()).unwrap();
    let mut writer = spawn_role_env(
        "write",
        &[&name, "2", "500"],
        &fp("write.copying=sleep(800)"),
    );
    writer.wait_until_paused();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/dev/shm/{name}"))
        .unwrap();
    // The lock line, the events line and the first slot header: garbage.
    file.write_all_at(&[0xa5; 64], 128).unwrap();
    file.write_all_at(&[0x5a; 8], 200).unwrap();
    file.write_all_at(&[0xff; 64], 320).unwrap();
    assert_eq!(writer.line(), "wrote 1");
    assert_eq!(writer.exit_code(), 0, "the writer ended normally");
    drop(owner);
    report("scribbled lock: writer finished, exit 0");
}
