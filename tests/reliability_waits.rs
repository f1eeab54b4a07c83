//! Waits under faults: a notifier killed between counting a notification
//! and waking the sleepers must not leave a waiter asleep forever, and no
//! timeout a caller can pass makes `wait` panic.

mod reliability_support;

use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use reliability_support::{report, shm_path, unique, wait_until, within, Cleanup};
use shmiface::{ErrorKind, Options, Segment};

/// Offsets in the events line (src/layout.rs): seq (u64), sleepers (u32).
const EVENTS_SEQ: u64 = 192;
const EVENTS_SLEEPERS: u64 = 200;

fn raw_u64(file: &std::fs::File, offset: u64) -> u64 {
    let mut b = [0u8; 8];
    file.read_exact_at(&mut b, offset).unwrap();
    u64::from_ne_bytes(b)
}

fn raw_u32(file: &std::fs::File, offset: u64) -> u32 {
    let mut b = [0u8; 4];
    file.read_exact_at(&mut b, offset).unwrap();
    u32::from_ne_bytes(b)
}

/// `notify` adds to the sequence and then makes the wake-up call. A
/// notifier SIGKILLed between the two leaves the count moved and the
/// sleepers asleep. Here the "dead notifier" is simulated exactly: the
/// sequence is bumped through the file, which wakes no one. A waiter asleep
/// with a cursor from before must still return, with the new count.
#[test]
fn a_notification_whose_notifier_died_before_waking_is_not_lost() {
    let name = unique("dead-notifier");
    let _cleanup = Cleanup(name.clone());
    let owner = Segment::create(&name, &Options::default()).unwrap();
    let seen = owner.notify_count();
    let waiter = {
        let name = name.clone();
        std::thread::spawn(move || {
            let seg = Segment::attach(&name).unwrap();
            let mut cursor = seen;
            let start = Instant::now();
            let r = seg.wait(Some(&mut cursor), None);
            (r, cursor, start.elapsed())
        })
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(shm_path(&name))
        .unwrap();
    // Asleep in the kernel (past its spin), not merely waiting.
    wait_until("the waiter sleeps", || raw_u32(&file, EVENTS_SLEEPERS) > 0);
    std::thread::sleep(Duration::from_millis(50));
    let seq = raw_u64(&file, EVENTS_SEQ);
    file.write_all_at(&(seq + 2).to_ne_bytes(), EVENTS_SEQ)
        .unwrap();
    let bumped = Instant::now();
    let (r, cursor, _) = within("a waiter whose notifier died mid-notify", move || {
        waiter.join().unwrap()
    });
    report(format!(
        "waits: a notification whose notifier died before waking was seen after {:.0} ms",
        bumped.elapsed().as_secs_f64() * 1e3
    ));
    r.unwrap();
    assert_eq!(cursor, seen + 1);
    owner.destroy().unwrap();
}

/// Every timeout the Rust API accepts is valid, up to `Duration::MAX`
/// (which once overflowed `Instant + Duration` and panicked).
#[test]
fn any_timeout_is_accepted() {
    let name = unique("timeouts");
    let _cleanup = Cleanup(name.clone());
    let seg = Segment::create(&name, &Options::default()).unwrap();
    seg.notify().unwrap();
    for timeout in [
        None,
        Some(Duration::ZERO),
        Some(Duration::from_nanos(1)),
        Some(Duration::from_secs(u64::MAX / 2)),
        Some(Duration::MAX),
    ] {
        // A cursor behind the count returns at once, whatever the timeout.
        let mut behind = 0;
        seg.wait(Some(&mut behind), timeout).unwrap();
        assert_eq!(behind, 1);
    }
    let mut current = seg.notify_count();
    let e = seg
        .wait(Some(&mut current), Some(Duration::from_millis(1)))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    // Through the C ABI, the largest timeout is i64::MAX ms.
    let mut handle_seen = 0u64;
    let n = reliability_support::cstr(&name);
    let mut h = std::ptr::null_mut();
    // SAFETY: valid pointers; the handle is destroyed below.
    unsafe {
        assert_eq!(shmiface::ffi::shmiface_get_instance(n.as_ptr(), &mut h), 0);
        assert_eq!(
            shmiface::ffi::shmiface_wait(h, &mut handle_seen, i64::MAX),
            0
        );
        assert_eq!(handle_seen, 1);
        assert_eq!(shmiface::ffi::shmiface_destroy(h), 0);
    }
    seg.destroy().unwrap();
}
