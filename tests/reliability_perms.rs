//! Permissions: a segment gets exactly the mode asked for, whatever the
//! umask; another user (`setpriv --reuid=65534`, as CI runs as root) is
//! refused a 0600 segment with PERMISSION and gets a 0644 one read-only:
//! reads, get_info and wait work, set/compare_and_set/notify give
//! PERMISSION, and init_instance cannot take it over. Names never reach
//! outside /dev/shm, and a FIFO planted there never blocks an attacher.
//!
//! The other-user half needs root and setpriv; without them it is skipped
//! with the reason printed.

mod reliability_support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reliability_support::{
    c_get_instance, c_init_instance, cstr, have, is_root, report, run_role, say, shm_path, unique,
    Cleanup,
};
use shmiface::ffi::{self, shmiface_options};
use shmiface::{ErrorKind, Options, Segment};

const NOBODY: &[&str] = &[
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
];

#[test]
fn child_entry() {
    if let Some((role, args)) = reliability_support::role_from_env() {
        std::process::exit(run(&role, &args));
    }
}

fn kind_of(r: shmiface::Result<impl Sized>) -> String {
    match r {
        Ok(_) => "Ok".into(),
        Err(e) => format!("{:?}", e.kind()),
    }
}

fn run(role: &str, args: &[String]) -> i32 {
    match role {
        // Creates segments under several umasks; prints each resulting mode.
        "umask" => {
            for umask in [0o000, 0o022, 0o077, 0o777] {
                // SAFETY: plain syscall (this process is single-purpose).
                unsafe { libc::umask(umask) };
                for mode in [0o600, 0o644, 0o640, 0o666, 0o400, 0o777, 0o000] {
                    let name = unique("umask");
                    let _c = Cleanup(name.clone());
                    let seg = Segment::create(
                        &name,
                        &Options {
                            mode,
                            ..Options::default()
                        },
                    )
                    .unwrap();
                    let got = std::fs::metadata(shm_path(&name))
                        .unwrap()
                        .permissions()
                        .mode()
                        & 0o7777;
                    say(format!(
                        "umask {umask:o} mode {mode:o} -> {got:o} info {:o}",
                        seg.info().unwrap().mode
                    ));
                    seg.destroy().unwrap();
                }
                // Through the C ABI, mode 0 means 0600.
                let name = unique("umask-c");
                let _c = Cleanup(name.clone());
                let (st, h, _) = c_init_instance(
                    &name,
                    Some(shmiface_options {
                        capacity: 0,
                        mode: 0,
                        flags: 0,
                    }),
                );
                assert_eq!(st, 0);
                let got = std::fs::metadata(shm_path(&name))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o7777;
                say(format!("umask {umask:o} mode 0(C) -> {got:o}"));
                reliability_support::c_destroy(h.unwrap());
            }
            0
        }
        // As another user: what each kind of segment allows.
        "other-user" => {
            let (private, public, shared, dead, fifo) =
                (&args[0], &args[1], &args[2], &args[3], &args[4]);
            // SAFETY: plain syscall.
            say(format!("uid {}", unsafe { libc::geteuid() }));
            let (st, _, detail) = c_get_instance(private);
            say(format!("0600 attach {st} {}", !detail.is_empty()));
            let (st, _, detail) = c_init_instance(private, None);
            say(format!("0600 init {st} {}", !detail.is_empty()));

            let seg = Segment::attach(public).unwrap();
            let info = seg.info().unwrap();
            say(format!(
                "0644 read_only {} owner_alive {}",
                info.read_only, info.owner_alive
            ));
            say(format!(
                "0644 value {}",
                String::from_utf8_lossy(&seg.read().unwrap().0)
            ));
            say(format!("0644 write {}", kind_of(seg.write(b"mine", false))));
            say(format!(
                "0644 cas {}",
                kind_of(seg.compare_and_set(info.version, b"mine", false))
            ));
            say(format!("0644 notify {}", kind_of(seg.notify())));
            let mut seen = seg.notify_count();
            say(format!(
                "0644 poll {}",
                kind_of(seg.wait(Some(&mut seen), Some(Duration::ZERO)))
            ));
            // The owner notifies over and over until this process exits.
            say(format!(
                "0644 wait {}",
                kind_of(seg.wait(Some(&mut seen), Some(Duration::from_secs(30))))
            ));
            say(format!(
                "0644 value after {}",
                String::from_utf8_lossy(&seg.read().unwrap().0)
            ));
            let (st, _, _) = c_init_instance(public, None);
            say(format!("0644 init {st}"));
            let (st, _, detail) = c_init_instance(dead, None);
            say(format!("0644 dead-owner init {st} {}", !detail.is_empty()));

            let rw = Segment::attach(shared).unwrap();
            say(format!(
                "0666 read_only {} write {}",
                rw.info().unwrap().read_only,
                kind_of(rw.write(b"from nobody", true))
            ));

            let (st, _, detail) = c_get_instance(fifo);
            say(format!("fifo attach {st} {}", !detail.is_empty()));

            let own = unique("nobody-own");
            let mine = Segment::create(&own, &Options::default()).unwrap();
            let uid = std::fs::metadata(shm_path(&own)).unwrap().uid();
            say(format!(
                "own create uid {uid} mode {:o}",
                mine.info().unwrap().mode
            ));
            mine.destroy().unwrap();
            say(format!("own destroyed {}", !shm_path(&own).exists()));

            for bad in ["../x", "/x", "a/b", "..", ".x"] {
                let n = cstr(bad);
                let mut out = std::ptr::null_mut();
                // SAFETY: valid pointers.
                let st =
                    unsafe { ffi::shmiface_init_instance(n.as_ptr(), std::ptr::null(), &mut out) };
                say(format!("escape {bad} {st}"));
            }
            0
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn the_mode_is_exact_whatever_the_umask() {
    let (code, lines) = run_role(&[], &std::env::current_exe().unwrap(), "umask", &[]);
    assert_eq!(code, 0);
    assert_eq!(lines.len(), 4 * 8);
    for line in &lines {
        let want = line
            .split(" mode ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        let want = if want == "0(C)" { "600" } else { want };
        let got = line.split("-> ").nth(1).unwrap().split(' ').next().unwrap();
        assert_eq!(got, want, "{line}");
        if let Some(info) = line.split("info ").nth(1) {
            assert_eq!(info, want, "{line}");
        }
    }
    // A takeover sets the mode it was asked for, too.
    let name = unique("retake");
    let _c = Cleanup(name.clone());
    let seg = Segment::create(
        &name,
        &Options {
            mode: 0o600,
            ..Options::default()
        },
    )
    .unwrap();
    drop(seg); // the owner is gone, the object stays
    let seg = Segment::create(
        &name,
        &Options {
            mode: 0o640,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(seg.info().unwrap().mode, 0o640);
    seg.destroy().unwrap();
    report(format!(
        "perms: {} creations under umasks 0, 022, 077, 0777 got exactly their mode",
        lines.len()
    ));
}

#[test]
fn another_user_is_refused_or_read_only_as_the_mode_says() {
    if !is_root() {
        report(
            "perms: SKIPPED the other-user test: it needs root to switch users (CI runs as root)",
        );
        return;
    }
    if !have("setpriv") {
        report("perms: SKIPPED the other-user test: setpriv (util-linux) is not installed");
        return;
    }
    let make = |tag: &str, mode: u32, value: &[u8]| {
        let name = unique(tag);
        let seg = Segment::create(
            &name,
            &Options {
                mode,
                ..Options::default()
            },
        )
        .unwrap();
        seg.write(value, false).unwrap();
        (name, seg)
    };
    let (private, private_seg) = make("private", 0o600, b"secret");
    let (public, public_seg) = make("public", 0o644, b"public");
    let (shared, shared_seg) = make("shared", 0o666, b"shared");
    let (dead, dead_seg) = make("dead", 0o644, b"orphan");
    drop(dead_seg); // its owner is gone
    let fifo = unique("fifo");
    let _cleanups: Vec<_> = [&private, &public, &shared, &dead, &fifo]
        .iter()
        .map(|n| Cleanup((*n).clone()))
        .collect();
    let f = cstr(shm_path(&fifo).to_str().unwrap());
    // SAFETY: a valid path.
    assert_eq!(unsafe { libc::mkfifo(f.as_ptr(), 0o644) }, 0);
    std::fs::set_permissions(shm_path(&fifo), std::fs::Permissions::from_mode(0o644)).unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let notifier = {
        let done = done.clone();
        let name = public.clone();
        std::thread::spawn(move || {
            let seg = Segment::attach(&name).unwrap();
            while !done.load(Ordering::SeqCst) {
                seg.notify().unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let (code, lines) = run_role(
        NOBODY,
        &std::env::current_exe().unwrap(),
        "other-user",
        &[&private, &public, &shared, &dead, &fifo],
    );
    done.store(true, Ordering::SeqCst);
    notifier.join().unwrap();
    for line in &lines {
        report(format!("perms: as nobody: {line}"));
    }
    assert_eq!(code, 0, "the other-user process failed: {lines:?}");
    let expected = [
        "uid 65534".to_string(),
        format!("0600 attach {} true", ffi::SHMIFACE_ERR_PERMISSION),
        format!("0600 init {} true", ffi::SHMIFACE_ERR_PERMISSION),
        "0644 read_only true owner_alive true".into(),
        "0644 value public".into(),
        "0644 write Permission".into(),
        "0644 cas Permission".into(),
        "0644 notify Permission".into(),
        "0644 poll Timeout".into(),
        "0644 wait Ok".into(),
        "0644 value after public".into(),
        format!("0644 init {}", ffi::SHMIFACE_ERR_EXISTS),
        format!("0644 dead-owner init {} true", ffi::SHMIFACE_ERR_PERMISSION),
        "0666 read_only false write Ok".into(),
        format!("fifo attach {} true", ffi::SHMIFACE_ERR_INCOMPATIBLE),
        "own create uid 65534 mode 600".into(),
        "own destroyed true".into(),
    ];
    for (want, got) in expected.iter().zip(&lines) {
        assert_eq!(got, want);
    }
    let escapes: Vec<_> = lines.iter().filter(|l| l.starts_with("escape")).collect();
    assert_eq!(escapes.len(), 5);
    for l in escapes {
        assert!(
            l.ends_with(&format!(" {}", ffi::SHMIFACE_ERR_INVALID_NAME)),
            "{l}"
        );
    }
    // Nothing the other user did changed the segments it could only read.
    assert_eq!(private_seg.read().unwrap().0, b"secret");
    assert_eq!(public_seg.read().unwrap().0, b"public");
    assert_eq!(shared_seg.read().unwrap().0, b"from nobody");
    assert!(
        shm_path(&dead).exists(),
        "a refused takeover removed the object"
    );
    assert_eq!(Segment::attach(&dead).unwrap().read().unwrap().0, b"orphan");
    for seg in [private_seg, public_seg, shared_seg] {
        seg.destroy().unwrap();
    }
    let e = Segment::attach(&private)
        .err()
        .expect("the private segment is gone");
    assert_eq!(e.kind(), ErrorKind::NotFound);
}
