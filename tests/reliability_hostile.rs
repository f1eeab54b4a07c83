//! Hostile and corrupt objects in /dev/shm: empty, too small, random bytes,
//! a valid header with each field corrupted one at a time, sizes that
//! disagree with the object, a symbolic link, a directory, a FIFO, a socket.
//! Each one, through the C ABI's `shmiface_get_instance` and
//! `shmiface_init_instance`, gives a status with a detail (or a working
//! segment) in bounded time: never a crash, a hang or an out-of-bounds
//! read, and init_instance never removes an object that is not a shmiface
//! segment.

mod reliability_support;

use std::ffi::c_char;
use std::time::{Duration, Instant};

use reliability_support::{
    c_destroy, c_get_instance, c_init_instance, cstr, put_u32, put_u64, read_object, report,
    shm_path, status_name, unique, valid_image, write_object, Board, Cleanup, Rng, SLOT_WORDS,
};
use shmiface::ffi::{self, shmiface_info, shmiface_options};

const OK: i32 = ffi::SHMIFACE_OK;
const INCOMPATIBLE: i32 = ffi::SHMIFACE_ERR_INCOMPATIBLE;
const NOT_READY: i32 = ffi::SHMIFACE_ERR_NOT_READY;
const DESTROYED: i32 = ffi::SHMIFACE_ERR_DESTROYED;
const CAP: u64 = 100;
/// Hang guard for one call (the library's own bound for NOT_READY is 1 s,
/// and a reader gives up on a slot that never settles after ~10^7 tries).
const CALL_BOUND: Duration = Duration::from_secs(20);

// Offsets of the header fields (src/layout.rs).
const VERSION: usize = 8;
const HEADER_SIZE: usize = 12;
const CAPACITY: usize = 16;
const TOTAL: usize = 24;
const STRIDE: usize = 32;
const CREATED: usize = 40;
const STATE: usize = 48;
const FLAGS: usize = 52;
const OWNER_PID: usize = 56;
const RECOVERIES: usize = 60;
const HISTORY: usize = 64;
const LOCK_WORD: usize = 128;
const NEXT_REGISTRATION: usize = 132;
const SEQ: usize = 192;
const SLEEPERS: usize = 200;
const WAITERS: usize = 204;
const PUBLISHED: usize = 256;
const SLOT0: usize = 320;

/// What init_instance should do with an object.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Init {
    /// Refuse with this status, leaving the object exactly as it was.
    Refuse(i32),
    /// Succeed with a working segment, the old value kept.
    TakeOverKeeping,
    /// Succeed with a working, fresh segment (the object was replaced).
    Replace,
    /// Succeed; the corrupt value may still be refused by reads, and the
    /// next set repairs it.
    TakeOverRepairable,
}

struct Case {
    label: String,
    bytes: Vec<u8>,
    attach: i32,
    init: Init,
}

fn case(label: impl Into<String>, bytes: Vec<u8>, attach: i32, init: Init) -> Case {
    Case {
        label: label.into(),
        bytes,
        attach,
        init,
    }
}

fn options() -> shmiface_options {
    shmiface_options {
        capacity: CAP,
        mode: 0o600,
        flags: 0,
    }
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let r = f();
    let took = start.elapsed();
    assert!(took < CALL_BOUND, "{what} took {took:?}");
    r
}

/// Everything a handle to a possibly corrupt segment can do without
/// writing: each call returns some status, none crashes.
fn exercise_read_only(seg: *mut ffi::shmiface_segment) -> Vec<i32> {
    let mut buf = vec![0u8; 4096];
    let (mut len, mut version, mut seen) = (0usize, 0u64, 0u64);
    let mut info = shmiface_info::default();
    // SAFETY: a live handle and valid buffers.
    unsafe {
        vec![
            ffi::shmiface_get_bytes(seg, buf.as_mut_ptr(), buf.len(), &mut len, &mut version),
            ffi::shmiface_get_string(seg, buf.as_mut_ptr() as *mut c_char, buf.len(), &mut len),
            ffi::shmiface_get_info(seg, &mut info),
            ffi::shmiface_wait(seg, &mut seen, 0),
            ffi::shmiface_wait(seg, std::ptr::null_mut(), 0),
        ]
    }
}

/// A segment handle works: a value set is read back.
fn works(seg: *mut ffi::shmiface_segment, value: &str) -> Result<(), String> {
    let v = cstr(value);
    let mut buf = vec![0u8; 256];
    let mut len = 0usize;
    // SAFETY: a live handle and valid buffers.
    let (set, get) = unsafe {
        (
            ffi::shmiface_set_string_notify(seg, v.as_ptr()),
            ffi::shmiface_get_string(seg, buf.as_mut_ptr() as *mut c_char, buf.len(), &mut len),
        )
    };
    if set != OK || get != OK || &buf[..len] != value.as_bytes() {
        return Err(format!(
            "set gave {}, get gave {} with {:?}",
            status_name(set),
            status_name(get),
            String::from_utf8_lossy(&buf[..len])
        ));
    }
    Ok(())
}

fn read_value(seg: *mut ffi::shmiface_segment) -> Vec<u8> {
    let mut buf = vec![0u8; 256];
    let mut len = 0usize;
    // SAFETY: a live handle and valid buffers.
    let st = unsafe {
        ffi::shmiface_get_bytes(
            seg,
            buf.as_mut_ptr(),
            buf.len(),
            &mut len,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(st, OK, "reading a taken-over value");
    buf.truncate(len);
    buf
}

/// Writes the case's object and checks attach, then init_instance.
fn check(c: &Case) -> Result<String, String> {
    let name = unique("hostile");
    let _cleanup = Cleanup(name.clone());
    write_object(&name, &c.bytes, 0o600);
    let mut out = String::new();

    let (status, handle, detail) = timed("get_instance", || c_get_instance(&name));
    if status != c.attach {
        return Err(format!(
            "{}: get_instance gave {} ({detail}), expected {}",
            c.label,
            status_name(status),
            status_name(c.attach)
        ));
    }
    if let Some(h) = handle {
        let statuses = timed("reads", || exercise_read_only(h));
        out.push_str(&format!("attach OK, reads {statuses:?}"));
        assert!(statuses.iter().all(|&s| s != ffi::SHMIFACE_ERR_PANIC));
        assert_eq!(c_destroy(h), OK);
    } else {
        if detail.is_empty() {
            return Err(format!("{}: failed without a detail", c.label));
        }
        out.push_str(&format!("attach {}", status_name(status)));
    }

    let before = read_object(&name);
    let (status, handle, detail) =
        timed("init_instance", || c_init_instance(&name, Some(options())));
    match (c.init, handle) {
        (Init::Refuse(expected), None) if status == expected => {
            if detail.is_empty() {
                return Err(format!("{}: init failed without a detail", c.label));
            }
            if read_object(&name) != before {
                return Err(format!(
                    "{}: a refused init_instance changed the object",
                    c.label
                ));
            }
            out.push_str(&format!(", init {}", status_name(status)));
        }
        (Init::TakeOverRepairable, Some(h)) => {
            let statuses = timed("reads", || exercise_read_only(h));
            works(h, "taken over").map_err(|e| format!("{}: after init_instance: {e}", c.label))?;
            assert_eq!(c_destroy(h), OK);
            out.push_str(&format!(
                ", init OK, reads {statuses:?} until a set repairs it"
            ));
        }
        (Init::TakeOverKeeping | Init::Replace, Some(h)) => {
            let value = read_value(h);
            let expected: &[u8] = if c.init == Init::TakeOverKeeping {
                b"hello"
            } else {
                b""
            };
            if value != expected {
                return Err(format!(
                    "{}: after init_instance the value is {:?}, expected {:?}",
                    c.label,
                    String::from_utf8_lossy(&value),
                    String::from_utf8_lossy(expected)
                ));
            }
            works(h, "taken over").map_err(|e| format!("{}: after init_instance: {e}", c.label))?;
            assert_eq!(c_destroy(h), OK);
            out.push_str(&format!(", init OK ({:?})", c.init));
        }
        (_, h) => {
            if let Some(h) = h {
                c_destroy(h);
            }
            return Err(format!(
                "{}: init_instance gave {} ({detail}), expected {:?}",
                c.label,
                status_name(status),
                c.init
            ));
        }
    }
    Ok(out)
}

fn run(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in &cases {
        match check(c) {
            Ok(what) => report(format!("hostile: {:<44} {what}", c.label)),
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn objects_that_are_not_segments() {
    let mut rng = Rng::new(0x5eed);
    let random: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
    let mut magic_only = b"SHMIFACE".to_vec();
    magic_only.resize(63, 0xaa);
    run(vec![
        // No live owner and nothing written: a creation that died.
        case("empty", vec![], NOT_READY, Init::Replace),
        case("all zero, 4 KiB", vec![0; 4096], NOT_READY, Init::Replace),
        case(
            "10 bytes of text",
            b"hello shm!".to_vec(),
            INCOMPATIBLE,
            Init::Refuse(INCOMPATIBLE),
        ),
        case(
            "63 bytes starting with the magic",
            magic_only,
            INCOMPATIBLE,
            Init::Refuse(INCOMPATIBLE),
        ),
        case(
            "4 KiB of random bytes",
            random,
            INCOMPATIBLE,
            Init::Refuse(INCOMPATIBLE),
        ),
    ]);
}

/// A valid header (of a segment whose owner is gone) with one field
/// corrupted at a time.
#[test]
fn a_valid_header_with_each_field_corrupted() {
    let good = valid_image(CAP, b"hello");
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    let refuse = Init::Refuse(INCOMPATIBLE);
    let total = good.len() as u64;
    let mut cases = vec![case(
        "valid (owner gone)",
        good.clone(),
        OK,
        Init::TakeOverKeeping,
    )];
    cases.push(case("magic", with(&|b| b[7] = b'X'), INCOMPATIBLE, refuse));
    for v in [0u32, 1, 3, u32::MAX] {
        cases.push(case(
            format!("layout_version={v}"),
            with(&|b| put_u32(b, VERSION, v)),
            INCOMPATIBLE,
            refuse,
        ));
    }
    for v in [0u32, 64, 256, 512, u32::MAX] {
        cases.push(case(
            format!("header_size={v}"),
            with(&|b| put_u32(b, HEADER_SIZE, v)),
            INCOMPATIBLE,
            refuse,
        ));
    }
    for v in [0u64, 200, (1 << 30) + 1, u64::MAX] {
        cases.push(case(
            format!("capacity={v}"),
            with(&|b| put_u64(b, CAPACITY, v)),
            INCOMPATIBLE,
            refuse,
        ));
    }
    for v in [0u64, total - 1, total + 1, u64::MAX] {
        cases.push(case(
            format!("total_size={v}"),
            with(&|b| put_u64(b, TOTAL, v)),
            INCOMPATIBLE,
            refuse,
        ));
    }
    for v in [0u64, 64, 256, u64::MAX] {
        cases.push(case(
            format!("slot_stride={v}"),
            with(&|b| put_u64(b, STRIDE, v)),
            INCOMPATIBLE,
            refuse,
        ));
    }
    for v in [3u32, 0x100, u32::MAX] {
        cases.push(case(
            format!("state={v}"),
            with(&|b| put_u32(b, STATE, v)),
            INCOMPATIBLE,
            refuse,
        ));
    }
    // State INITIALISING with the magic: a creation that died.
    cases.push(case(
        "state=0 (initialising)",
        with(&|b| put_u32(b, STATE, 0)),
        NOT_READY,
        Init::Replace,
    ));
    cases.push(case(
        "state=2 (destroyed)",
        with(&|b| put_u32(b, STATE, 2)),
        DESTROYED,
        Init::Replace,
    ));
    // Fields the checks do not need: the segment still works.
    cases.push(case(
        "created_unix_ns=MAX",
        with(&|b| put_u64(b, CREATED, u64::MAX)),
        OK,
        Init::TakeOverKeeping,
    ));
    cases.push(case(
        "flags=all bits",
        with(&|b| put_u32(b, FLAGS, u32::MAX)),
        OK,
        Init::TakeOverKeeping,
    ));
    for v in [-1i32, 0, 1, i32::MAX] {
        cases.push(case(
            format!("owner_pid={v}"),
            with(&|b| put_u32(b, OWNER_PID, v as u32)),
            OK,
            Init::TakeOverKeeping,
        ));
    }
    cases.push(case(
        "lock_recoveries=MAX",
        with(&|b| put_u32(b, RECOVERIES, u32::MAX)),
        OK,
        Init::TakeOverKeeping,
    ));
    // The sync words: a new owner with no other process attached resets them.
    for v in [0u32, 65537, u32::MAX] {
        cases.push(case(
            format!("history={v}"),
            with(&|b| put_u32(b, HISTORY, v)),
            INCOMPATIBLE,
            refuse,
        ));
    }
    cases.push(case(
        "history=3 (sizes then disagree)",
        with(&|b| put_u32(b, HISTORY, 3)),
        INCOMPATIBLE,
        refuse,
    ));
    cases.push(case(
        "writer lock line all 0xff",
        with(&|b| b[LOCK_WORD..LOCK_WORD + 64].fill(0xff)),
        OK,
        Init::TakeOverKeeping,
    ));
    cases.push(case(
        "lock word held by registration 12345",
        with(&|b| put_u32(b, LOCK_WORD, 12345)),
        OK,
        Init::TakeOverKeeping,
    ));
    cases.push(case(
        "next_registration=MAX",
        with(&|b| put_u32(b, NEXT_REGISTRATION, u32::MAX)),
        OK,
        Init::TakeOverKeeping,
    ));
    cases.push(case(
        "sleepers/waiters=MAX",
        with(&|b| {
            put_u32(b, SLEEPERS, u32::MAX);
            put_u32(b, WAITERS, u32::MAX);
        }),
        OK,
        Init::TakeOverKeeping,
    ));
    cases.push(case(
        "events seq: destroyed bit",
        with(&|b| {
            let seq = reliability_support::get_u64(b, SEQ);
            put_u64(b, SEQ, seq | 1);
        }),
        DESTROYED,
        Init::Replace,
    ));
    // The value's slots: a read never leaves the slot, whatever len says.
    for v in [CAP + 1, 1 << 40, u64::MAX] {
        cases.push(case(
            format!("slot 0 len={v}"),
            with(&|b| {
                put_u64(b, PUBLISHED, 0);
                put_u64(b, SLOT0 + 8, v);
            }),
            OK,
            Init::TakeOverRepairable,
        ));
    }
    // The published slot's sequence stuck odd (a writer mid-copy forever).
    cases.push(case(
        "published slot seq odd",
        with(&|b| {
            let word = reliability_support::get_u64(b, PUBLISHED);
            let slot = SLOT0 + (word & 1) as usize * (64 + 128);
            put_u64(b, slot, 1);
        }),
        OK,
        Init::TakeOverRepairable,
    ));
    // A published version no slot holds: reads refuse it within their time
    // bound, and a new owner alone with the segment publishes the newest
    // value a slot does hold.
    cases.push(case(
        "published version=MAX",
        with(&|b| put_u64(b, PUBLISHED, u64::MAX)),
        OK,
        Init::TakeOverKeeping,
    ));
    run(cases);
}

#[test]
fn sizes_that_disagree_with_the_object() {
    let good = valid_image(CAP, b"hello");
    let refuse = Init::Refuse(INCOMPATIBLE);
    let mut longer = good.clone();
    longer.extend(vec![0u8; 4096]);
    run(vec![
        case(
            "truncated to the header",
            good[..256].to_vec(),
            INCOMPATIBLE,
            refuse,
        ),
        case(
            "truncated by one byte",
            good[..good.len() - 1].to_vec(),
            INCOMPATIBLE,
            refuse,
        ),
        case("one line only", good[..64].to_vec(), INCOMPATIBLE, refuse),
        case(
            "4 KiB longer than the header says",
            longer,
            INCOMPATIBLE,
            refuse,
        ),
    ]);
}

/// The value's slots hold garbage, but only a read of them notices; with
/// a handle attached (so a new owner must not reset anything) a write
/// repairs the value.
#[test]
fn a_corrupt_slot_is_refused_by_reads_and_repaired_by_a_write() {
    let mut image = valid_image(CAP, b"hello");
    let slot = SLOT0 + (reliability_support::get_u64(&image, PUBLISHED) & 1) as usize * (64 + 128);
    put_u64(&mut image, slot + 8, u64::MAX);
    let name = unique("badslot");
    let _cleanup = Cleanup(name.clone());
    write_object(&name, &image, 0o600);
    let (status, h, _) = c_get_instance(&name);
    assert_eq!(status, OK);
    let h = h.unwrap();
    let mut buf = [0u8; 256];
    let mut len = 0usize;
    // SAFETY: a live handle and valid buffers.
    let st = unsafe {
        ffi::shmiface_get_bytes(
            h,
            buf.as_mut_ptr(),
            buf.len(),
            &mut len,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(
        st, INCOMPATIBLE,
        "a value longer than its slot must be refused"
    );
    assert!(reliability_support::last_error().contains("corrupt"));
    works(h, "repaired").unwrap();
    assert_eq!(c_destroy(h), OK);
}

#[test]
fn links_directories_fifos_and_sockets_are_never_followed_or_removed() {
    let target_name = unique("link-target");
    let _t = Cleanup(target_name.clone());
    write_object(&target_name, &valid_image(CAP, b"hello"), 0o600);
    let target_before = read_object(&target_name);
    let mut failures = Vec::new();
    type Make<'a> = Box<dyn Fn(&std::path::Path) + 'a>;
    let kinds: Vec<(&str, Make)> = vec![
        (
            "symlink to a valid segment",
            Box::new(|p: &std::path::Path| {
                std::os::unix::fs::symlink(shm_path(&target_name), p).unwrap()
            }),
        ),
        (
            "symlink to /etc/hostname",
            Box::new(|p: &std::path::Path| std::os::unix::fs::symlink("/etc/hostname", p).unwrap()),
        ),
        (
            "dangling symlink",
            Box::new(|p: &std::path::Path| {
                std::os::unix::fs::symlink("/nonexistent/shmiface", p).unwrap()
            }),
        ),
        (
            "directory",
            Box::new(|p: &std::path::Path| std::fs::create_dir(p).unwrap()),
        ),
        (
            "FIFO",
            Box::new(|p: &std::path::Path| {
                let c = cstr(p.to_str().unwrap());
                // SAFETY: a valid path.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
            }),
        ),
        (
            "unix socket",
            Box::new(|p: &std::path::Path| {
                std::mem::forget(std::os::unix::net::UnixListener::bind(p).unwrap())
            }),
        ),
    ];
    for (label, make) in &kinds {
        let name = unique("special");
        let _cleanup = Cleanup(name.clone());
        let path = shm_path(&name);
        make(&path);
        let kind_before = std::fs::symlink_metadata(&path).unwrap().file_type();
        let (attach, h, detail) = timed("get_instance", || c_get_instance(&name));
        if let Some(h) = h {
            c_destroy(h);
        }
        let (init, h2, detail2) =
            timed("init_instance", || c_init_instance(&name, Some(options())));
        if let Some(h) = h2 {
            c_destroy(h);
        }
        let still = std::fs::symlink_metadata(&path).map(|m| m.file_type()).ok();
        report(format!(
            "hostile: {label:<44} attach {}, init {}",
            status_name(attach),
            status_name(init)
        ));
        if attach != INCOMPATIBLE || init != INCOMPATIBLE {
            failures.push(format!(
                "{label}: get_instance {} ({detail}), init_instance {} ({detail2}); expected INCOMPATIBLE twice",
                status_name(attach),
                status_name(init)
            ));
        }
        if still != Some(kind_before) {
            failures.push(format!("{label}: the entry was removed or replaced"));
        }
    }
    assert_eq!(
        read_object(&target_name),
        target_before,
        "a symlink's target was changed"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A peer that keeps rewriting the published slot's sequence (even, so
/// every read copies the whole value and only then finds it changed) gets
/// a reader of a 16 MiB value an INCOMPATIBLE within the read's time bound,
/// well under a second, not one copy per attempt of a fixed count (the
/// reader bounded by 10^7 attempts held such a read for 21.6 s).
#[test]
fn a_scribbled_large_value_is_refused_within_a_second() {
    use std::sync::atomic::{AtomicBool, Ordering};

    const BIG: u64 = 16 << 20;
    let name = unique("scribbled-big");
    let _cleanup = Cleanup(name.clone());
    let opts = shmiface_options {
        capacity: BIG,
        mode: 0o600,
        flags: 0,
    };
    let (status, seg, detail) = c_init_instance(&name, Some(opts));
    assert_eq!(status, OK, "{detail}");
    let seg = seg.unwrap();
    let value = vec![0x5a_u8; BIG as usize];
    let mut version = 0u64;
    // SAFETY: seg is live; value is BIG readable bytes.
    let set = unsafe { ffi::shmiface_set_bytes(seg, value.as_ptr(), value.len(), 0, &mut version) };
    assert_eq!(set, OK);

    // The scribbler maps the object itself, as any process with write
    // access can (a Board maps a whole file shared), and finds the
    // published version's slot (history 1: two slots, version v in slot
    // v % 2).
    let object = Board::open(shm_path(&name).to_str().unwrap());
    let word = (SLOT0 + (version % 2) as usize * (64 + BIG as usize)) / 8;
    let seq = object.word(word / SLOT_WORDS, word % SLOT_WORDS);
    let stop = AtomicBool::new(false);
    let started = AtomicBool::new(false);
    /// Ends the scribbler however the reads end, so that a failed
    /// assertion does not leave the scope waiting for it for ever.
    struct StopOnDrop<'a>(&'a AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }

    // A read that finds the value stable (the scribbler was off the CPU
    // for a whole copy) is right to return it; what may never happen is a
    // read past the bound. Some read of the twenty must be refused.
    let mut buf = vec![0u8; BIG as usize];
    let (mut len, mut got) = (0usize, 0u64);
    let refused = std::thread::scope(|scope| {
        let _stop = StopOnDrop(&stop);
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                seq.fetch_add(2, Ordering::Relaxed);
                started.store(true, Ordering::Relaxed);
            }
        });
        while !started.load(Ordering::Relaxed) {
            std::thread::yield_now();
        }
        for _ in 0..20 {
            let start = Instant::now();
            // SAFETY: seg is live; buf has BIG writable bytes.
            let status = unsafe {
                ffi::shmiface_get_bytes(seg, buf.as_mut_ptr(), buf.len(), &mut len, &mut got)
            };
            let took = start.elapsed();
            report(format_args!(
                "scribbled 16 MiB read: {} in {took:?}",
                status_name(status)
            ));
            assert!(took < Duration::from_secs(1), "the read took {took:?}");
            if status == OK {
                assert!(
                    len == value.len() && buf == value,
                    "a read returned a torn value"
                );
                continue;
            }
            let detail = reliability_support::last_error();
            assert_eq!(status, INCOMPATIBLE, "{detail}");
            assert!(detail.contains("being overwritten"), "{detail}");
            return true;
        }
        false
    });
    assert!(refused, "twenty reads under the scribbler, none refused");
    // Once the peer stops, the same handle reads the value again.
    buf.fill(0);
    // SAFETY: as above.
    let status =
        unsafe { ffi::shmiface_get_bytes(seg, buf.as_mut_ptr(), buf.len(), &mut len, &mut got) };
    assert_eq!(status, OK);
    assert!(len == value.len() && buf == value);
    assert_eq!(c_destroy(seg), OK);
}
