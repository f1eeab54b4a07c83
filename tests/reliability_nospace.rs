//! A full shared-memory filesystem: in a private mount namespace
//! (`unshare -m`) a 256 KiB tmpfs is mounted over /dev/shm. Creating a
//! segment larger than the space gives NO_SPACE and leaves nothing behind;
//! filling the space with segments and then writing the largest value into
//! every one of them never raises SIGBUS (the pages were reserved at
//! creation). Needs root; skipped with the reason printed otherwise.

mod reliability_support;

use std::collections::BTreeSet;

use reliability_support::{c_destroy, c_init_instance, have, is_root, report, run_role, say};
use shmiface::ffi::{self, shmiface_options};
use shmiface::{ErrorKind, Options, Segment};

const TMPFS_SIZE: &str = "256k";

#[test]
fn child_entry() {
    if let Some((role, _)) = reliability_support::role_from_env() {
        assert_eq!(role, "full");
        std::process::exit(full_filesystem());
    }
}

fn entries() -> BTreeSet<String> {
    std::fs::read_dir("/dev/shm")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn options(capacity: u64) -> Options {
    Options {
        capacity,
        ..Options::default()
    }
}

/// Runs inside the private mount namespace.
fn full_filesystem() -> i32 {
    let src = c"tmpfs";
    let target = c"/dev/shm";
    let data = std::ffi::CString::new(format!("size={TMPFS_SIZE},mode=1777")).unwrap();
    // SAFETY: valid C strings; this process has its own mount namespace.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            src.as_ptr(),
            0,
            data.as_ptr().cast(),
        )
    };
    if rc != 0 {
        say(format!("mount failed: {}", std::io::Error::last_os_error()));
        return 3;
    }
    say(format!("empty {}", entries().is_empty()));

    // Larger than the whole filesystem, through the Rust API and the C ABI.
    let e = Segment::create("too-big", &options(1 << 20)).err().unwrap();
    say(format!("too-big {:?} left {:?}", e.kind(), entries()));
    let (st, _, detail) = c_init_instance(
        "too-big-c",
        Some(shmiface_options {
            capacity: 1 << 20,
            mode: 0,
            flags: 0,
        }),
    );
    say(format!(
        "too-big-c {st} detail {} left {:?}",
        !detail.is_empty(),
        entries()
    ));

    // Fill it with 32 KiB segments until one does not fit.
    let mut segs = Vec::new();
    let failure = loop {
        let name = format!("fill-{}", segs.len());
        match Segment::create(&name, &options(32 << 10)) {
            Ok(seg) => segs.push(seg),
            Err(e) => break (name, e),
        }
    };
    let (failed_name, e) = failure;
    let names = entries();
    say(format!(
        "filled {} then {:?}, failed one left {}",
        segs.len(),
        e.kind(),
        names.contains(&failed_name)
    ));
    // Every reserved page is there: writing the largest value anywhere
    // cannot fault, however full the filesystem is.
    let big = vec![0x5au8; 32 << 10];
    let mut rewrote = 0;
    for seg in &segs {
        for _ in 0..3 {
            seg.write(&big, true).unwrap();
        }
        assert_eq!(seg.read().unwrap().0, big);
        rewrote += 1;
    }
    say(format!("rewrote {rewrote} with no SIGBUS"));

    // A takeover that needs a larger object than the space left: NO_SPACE,
    // and the dead owner's old object is not left half-replaced.
    let last = segs.pop().unwrap();
    let name = last.name().to_owned();
    drop(last); // its owner is gone
    let e = Segment::create(&name, &options(1 << 20)).err().unwrap();
    say(format!(
        "bigger takeover {:?} left {}",
        e.kind(),
        entries().contains(&name)
    ));
    for seg in segs {
        seg.destroy().unwrap();
    }
    let (st, h, _) = c_init_instance("after", None);
    say(format!("after cleanup {st}"));
    if let Some(h) = h {
        c_destroy(h);
    }
    say(format!("end empty {}", entries().is_empty()));
    0
}

#[test]
fn a_full_filesystem_gives_no_space_and_never_sigbus() {
    if !is_root() {
        report("nospace: SKIPPED: mounting a tmpfs needs root (CI runs as root)");
        return;
    }
    if !have("unshare") {
        report("nospace: SKIPPED: unshare (util-linux) is not installed");
        return;
    }
    let probe = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "true"])
        .status();
    if !probe.map(|s| s.success()).unwrap_or(false) {
        report("nospace: SKIPPED: this machine refuses a private mount namespace (unshare -m)");
        return;
    }
    let (code, lines) = run_role(
        &["unshare", "-m", "--propagation", "private"],
        &std::env::current_exe().unwrap(),
        "full",
        &[],
    );
    for l in &lines {
        report(format!("nospace: {l}"));
    }
    assert_eq!(
        code, 0,
        "the namespace process failed (a SIGBUS shows as -1): {lines:?}"
    );
    let nospace = ErrorKind::NoSpace;
    let expected_prefixes = [
        "empty true".to_string(),
        format!("too-big {nospace:?} left {{}}"),
        format!(
            "too-big-c {} detail true left {{}}",
            ffi::SHMIFACE_ERR_NO_SPACE
        ),
    ];
    for (want, got) in expected_prefixes.iter().zip(&lines) {
        assert_eq!(got, want);
    }
    let filled = &lines[3];
    assert!(
        filled.ends_with(&format!("then {nospace:?}, failed one left false")),
        "{filled}"
    );
    let n: usize = filled.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(n >= 2, "{filled}");
    assert_eq!(lines[4], format!("rewrote {n} with no SIGBUS"));
    assert_eq!(lines[5], format!("bigger takeover {nospace:?} left false"));
    assert_eq!(lines[6], "after cleanup 0");
    assert_eq!(lines[7], "end empty true");
}
