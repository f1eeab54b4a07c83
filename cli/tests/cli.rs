//! The `shmiface` command against live segments owned by other processes:
//! a C owner (tests/peers/owner.c, through the C ABI) and a Python owner
//! (tests/peers/owner.py, through the Python package). Each command, its
//! JSON, and its error paths: a missing segment, a foreign object in
//! /dev/shm (shown only with --all), a dead owner (shown dead, removed by
//! gc), wait's timeout (status 2), usage errors.

mod support;

use support::{
    cli, cli_with_input, exists, info, listed, ownerless_lock, spawn_cli, unique, until_waiting,
    Cleanup, Lang, Peer,
};

// ------------------------------------------------ every command, both owners

/// ls, info, get, set (argument, stdin, --notify, too large), wait (a
/// notification, a timeout) and watch (values, SIGINT, the owner's
/// destroy), on a segment another process owns.
fn session(lang: Lang) {
    let name = unique(&format!("{lang:?}").to_lowercase());
    let _cleanup = Cleanup(name.clone());
    let mut owner = Peer::owner(lang, &name, 64, 0o640, false);

    // ls: the row, alive, with the owner's pid; no colour off a terminal.
    let table = cli(&["ls"]).ok().text();
    let row = table
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("ls lacks {name}: {table}"));
    for cell in ["64", "alive", "0640", &owner.pid.to_string()] {
        assert!(row.split_whitespace().any(|c| c == cell), "{cell} in {row}");
    }
    assert!(table.starts_with("NAME"), "{table}");
    assert!(!table.contains('\x1b'), "colour off a terminal: {table:?}");
    let entry = listed(&name, false).expect("ls --json lists the segment");
    assert_eq!(entry["kind"], "segment");
    assert_eq!(entry["capacity"], 64);
    assert_eq!(entry["length"], 0);
    assert_eq!(entry["version"], 0);
    assert_eq!(entry["mode"], "0640");
    assert_eq!(entry["owner_pid"], owner.pid);
    assert_eq!(entry["owner_alive"], true);
    assert_eq!(entry["waiters"], 0);
    assert_eq!(entry["persistent"], false);

    // info: everything, as JSON and as a list.
    let i = info(&name);
    assert_eq!(i["name"], name.as_str());
    assert_eq!(i["capacity"], 64);
    assert_eq!(i["owner_pid"], owner.pid);
    assert_eq!(i["owner_alive"], true);
    assert_eq!(i["is_owner"], false);
    assert_eq!(i["destroyed"], false);
    assert_eq!(i["read_only"], false);
    assert_eq!(i["mode"], "0640");
    assert!(i["layout_version"].as_u64().unwrap() >= 1, "{i}");
    assert!(i["created_unix_ns"].as_u64().unwrap() > 0, "{i}");
    assert!(i["mapping_size"].as_u64().unwrap() > 64, "{i}");
    let created = i["created"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");
    let text = cli(&["info", &name]).ok().text();
    for line in [
        "owner_alive      true",
        "capacity         64",
        "mode             0640",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in {text}");
    }

    // get: the owner's value, as text and as bytes.
    owner.must(&format!("set hello from {lang:?}"));
    let hello = format!("hello from {lang:?}");
    assert_eq!(cli(&["get", &name]).ok().text(), format!("{hello}\n"));
    assert_eq!(
        cli(&["get", &name, "--bytes"]).ok().stdout,
        hello.as_bytes()
    );

    // set: the owner reads it; without --notify the count stays.
    let count = info(&name)["notify_count"].as_u64().unwrap();
    assert!(cli(&["set", &name, "from the cli"]).ok().stdout.is_empty());
    assert_eq!(owner.cmd("get"), "value from the cli");
    let i = info(&name);
    assert_eq!(i["version"], 2);
    assert_eq!(i["length"], 12);
    assert_eq!(i["notify_count"], count);

    // set --notify wakes the owner's waiter with the new value.
    assert_eq!(owner.cmd("arm"), "armed");
    cli(&["set", &name, "wake up", "--notify"]).ok();
    assert_eq!(owner.cmd("wait"), "notified wake up");
    assert_eq!(info(&name)["notify_count"], count + 1);

    // set - --bytes: exact bytes from standard input, NUL and newlines included.
    let raw = b"line one\nline two\0after a NUL\n";
    cli_with_input(&["set", &name, "-", "--bytes"], raw).ok();
    assert_eq!(cli(&["get", &name, "--bytes"]).ok().stdout, raw);
    cli(&["set", &name, "--", "-5"]).ok();
    assert_eq!(cli(&["get", &name]).ok().text(), "-5\n");

    // A value over the capacity: one line naming the segment; value kept.
    let too_long = "x".repeat(65);
    cli(&["set", &name, &too_long]).fails_with(&[&name, "65 bytes", "capacity 64"]);
    assert_eq!(cli(&["get", &name]).ok().text(), "-5\n");

    // wait: status 2 on timeout, with nothing on stdout.
    let timed_out = cli(&["wait", &name, "--timeout", "0.2"]);
    assert_eq!(timed_out.code(), 2, "{timed_out:?}");
    assert!(timed_out.stdout.is_empty(), "{timed_out:?}");

    // wait: status 0 and the value on the owner's notification.
    let waiting = spawn_cli(&["wait", &name, "--timeout", "60"]);
    until_waiting(&name);
    owner.must("setn ping");
    let woke = waiting.finish().ok();
    assert_eq!(woke.text(), "ping\n");

    // watch: every new value on a line, notified or not, until SIGINT
    // (status 0); a notification that sets nothing prints nothing.
    let watching = spawn_cli(&["watch", &name]);
    until_waiting(&name);
    owner.must("setn one");
    assert_eq!(watching.line(), "one");
    owner.must("notify");
    owner.must("set two");
    assert_eq!(watching.line(), "two");
    watching.signal(libc::SIGINT);
    watching.finish().ok();

    // watch ends by itself when the owner destroys the segment.
    let watching = spawn_cli(&["watch", &name]);
    until_waiting(&name);
    owner.must("destroy");
    let ended = watching.finish().ok();
    assert!(ended.stdout.is_empty(), "{ended:?}");
    assert!(ended.stderr.contains("destroyed"), "{ended:?}");
    assert!(!exists(&name));
    cli(&["get", &name]).fails_with(&[&name, "no such segment"]);
}

#[test]
fn every_command_with_a_c_owner() {
    session(Lang::C);
}

#[test]
fn every_command_with_a_python_owner() {
    session(Lang::Python);
}

// ------------------------------------------------------- dead owners and gc

/// A killed owner's segment shows dead; gc --dry-run only lists it; gc
/// removes it, and a process still watching it sees it destroyed.
fn dead_owner(lang: Lang) {
    let _serial = ownerless_lock();
    let name = unique(&format!("dead-{lang:?}").to_lowercase());
    let _cleanup = Cleanup(name.clone());
    let mut owner = Peer::owner(lang, &name, 128, 0o600, false);
    owner.must("set precious");
    let pid = owner.pid;
    owner.kill();

    let entry = listed(&name, false).expect("a dead owner's segment is listed");
    assert_eq!(entry["owner_alive"], false);
    assert_eq!(entry["owner_pid"], pid);
    let table = cli(&["ls"]).ok().text();
    let row = table
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap();
    assert!(row.split_whitespace().any(|c| c == "dead"), "{row}");
    // Still readable and writable.
    assert_eq!(cli(&["get", &name]).ok().text(), "precious\n");

    let dry = cli(&["gc", "--dry-run"]).ok().text();
    assert!(
        dry.lines()
            .any(|l| l == format!("would remove {name} (owner pid {pid} is dead)")),
        "{dry}"
    );
    assert!(exists(&name), "--dry-run removed it");

    let watching = spawn_cli(&["watch", &name]);
    until_waiting(&name);
    let gc = cli(&["gc"]).ok().text();
    assert!(
        gc.lines()
            .any(|l| l == format!("removed {name} (owner pid {pid} is dead)")),
        "{gc}"
    );
    assert!(!exists(&name));
    assert!(listed(&name, true).is_none());
    let ended = watching.finish().ok();
    assert!(ended.stderr.contains("destroyed"), "{ended:?}");
    // Nothing left to collect of ours.
    let again = cli(&["gc", "--dry-run"]).ok().text();
    assert!(!again.contains(&name), "{again}");
}

#[test]
fn dead_c_owner_shown_dead_and_collected() {
    dead_owner(Lang::C);
}

#[test]
fn dead_python_owner_shown_dead_and_collected() {
    dead_owner(Lang::Python);
}

/// gc leaves live owners' segments and foreign objects alone.
#[test]
fn gc_keeps_live_segments_and_foreign_objects() {
    let _serial = ownerless_lock();
    let live = unique("gc-live");
    let foreign = unique("gc-foreign");
    let _cleanup = (Cleanup(live.clone()), Cleanup(foreign.clone()));
    let _c = Peer::owner(Lang::C, &live, 16, 0o600, false);
    std::fs::write(support::shm_path(&foreign), [0x5a; 256]).unwrap();
    let gc = cli(&["gc"]).ok().text();
    assert!(!gc.contains(&live) && !gc.contains(&foreign), "{gc}");
    assert!(exists(&live) && exists(&foreign));
    assert_eq!(info(&live)["owner_alive"], true);
}

// ------------------------------------------------------------------- create

/// create holds the segment (others attach, a second create is refused)
/// and destroys it on SIGTERM; a C and a Python process use it meanwhile.
#[test]
fn create_holds_the_segment_until_sigterm() {
    let name = unique("create");
    let _cleanup = Cleanup(name.clone());
    let owner = spawn_cli(&["create", &name, "--capacity", "1K", "--mode", "0640"]);
    let ready = owner.line();
    assert!(
        ready.starts_with(&format!(
            "created segment {name} (capacity 1024, mode 0640, owner pid {})",
            owner.pid()
        )),
        "{ready}"
    );
    let entry = listed(&name, false).unwrap();
    assert_eq!(entry["owner_pid"], owner.pid());
    assert_eq!(entry["owner_alive"], true);
    assert_eq!(entry["capacity"], 1024);
    assert_eq!(entry["mode"], "0640");

    let mut c = Peer::attacher(Lang::C, &name);
    let mut py = Peer::attacher(Lang::Python, &name);
    cli(&["set", &name, "from the cli"]).ok();
    assert_eq!(c.cmd("get"), "value from the cli");
    assert_eq!(py.cmd("get"), "value from the cli");
    c.must("set from C");
    assert_eq!(cli(&["get", &name]).ok().text(), "from C\n");
    py.must("set from Python");
    assert_eq!(cli(&["get", &name]).ok().text(), "from Python\n");

    cli(&["create", &name]).fails_with(&[&name, "alive"]);

    // SIGTERM: the owner destroys it; attached waiters see that.
    assert_eq!(c.cmd("arm"), "armed");
    assert_eq!(py.cmd("arm"), "armed");
    owner.signal(libc::SIGTERM);
    let done = owner.finish().ok();
    assert_eq!(done.text(), format!("destroyed {name} on SIGTERM\n"));
    assert!(!exists(&name));
    assert_eq!(c.cmd("wait"), "destroyed");
    assert_eq!(py.cmd("wait"), "destroyed");
}

/// create --persistent: SIGINT releases it and it stays; plain gc keeps
/// it; a second create takes it over with its value; gc --persistent
/// removes it.
#[test]
fn create_persistent_then_take_over_and_collect() {
    let _serial = ownerless_lock();
    let name = unique("persistent");
    let _cleanup = Cleanup(name.clone());
    let first = spawn_cli(&["create", &name, "--persistent", "--capacity", "64"]);
    assert!(first
        .line()
        .starts_with(&format!("created persistent segment {name} ")));
    cli(&["set", &name, "survives"]).ok();
    first.signal(libc::SIGINT);
    let done = first.finish().ok();
    assert_eq!(
        done.text(),
        format!("released {name} on SIGINT; it stays in /dev/shm\n")
    );
    assert!(exists(&name));
    let entry = listed(&name, false).unwrap();
    assert_eq!(entry["owner_alive"], false);
    assert_eq!(entry["persistent"], true);

    let gc = cli(&["gc"]).ok();
    assert!(!gc.text().contains(&name), "{gc:?}");
    assert!(
        gc.stderr.contains(&format!("{name}: kept: persistent")),
        "{gc:?}"
    );
    assert!(exists(&name));

    let second = spawn_cli(&["create", &name, "--persistent", "--capacity", "64"]);
    second.line();
    assert_eq!(cli(&["get", &name]).ok().text(), "survives\n");
    assert_eq!(info(&name)["owner_pid"], second.pid());
    second.signal(libc::SIGHUP);
    second.finish().ok();

    let gc = cli(&["gc", "--persistent"]).ok().text();
    assert!(
        gc.lines()
            .any(|l| l.starts_with(&format!("removed {name} "))),
        "{gc}"
    );
    assert!(!exists(&name));
}

/// create takes over a segment whose C owner was killed; its value survives.
#[test]
fn create_takes_over_a_dead_owners_segment() {
    let _serial = ownerless_lock();
    let name = unique("takeover");
    let _cleanup = Cleanup(name.clone());
    let mut owner = Peer::owner(Lang::C, &name, 128, 0o600, false);
    owner.must("set kept across owners");
    owner.kill();
    let holder = spawn_cli(&["create", &name]);
    holder.line();
    assert_eq!(cli(&["get", &name]).ok().text(), "kept across owners\n");
    let i = info(&name);
    assert_eq!(i["owner_pid"], holder.pid());
    assert_eq!(i["owner_alive"], true);
    holder.signal(libc::SIGINT);
    assert_eq!(
        holder.finish().ok().text(),
        format!("destroyed {name} on SIGINT\n")
    );
    assert!(!exists(&name));
}

// ------------------------------------------------------------ rm, foreign

/// rm removes a live segment's name; the owner keeps its mapping.
#[test]
fn rm_unlinks_a_live_segment() {
    let name = unique("rm");
    let _cleanup = Cleanup(name.clone());
    let mut owner = Peer::owner(Lang::Python, &name, 32, 0o600, false);
    owner.must("set still mapped");
    assert!(cli(&["rm", &name]).ok().stdout.is_empty());
    assert!(!exists(&name));
    assert_eq!(owner.cmd("get"), "value still mapped");
    cli(&["get", &name]).fails_with(&[&name, "no such segment"]);
    cli(&["rm", &name]).fails_with(&[&name, "no such segment"]);
}

/// Objects in /dev/shm that are not segments: hidden from ls, shown as
/// foreign with --all; every command on one fails with one line.
#[test]
fn foreign_objects_show_only_with_all() {
    let name = unique("foreign");
    let bad_name = format!("{} with spaces", unique("foreign"));
    let _cleanup = (Cleanup(name.clone()), Cleanup(bad_name.clone()));
    std::fs::write(
        support::shm_path(&name),
        b"not a shmiface segment at all, ".repeat(8),
    )
    .unwrap();
    std::fs::write(support::shm_path(&bad_name), b"x").unwrap();

    assert!(listed(&name, false).is_none());
    assert!(listed(&bad_name, false).is_none());
    let foreign = listed(&name, true).expect("ls --all shows it");
    assert_eq!(foreign["kind"], "foreign");
    assert!(
        foreign["detail"]
            .as_str()
            .unwrap()
            .contains("not a shmiface segment"),
        "{foreign}"
    );
    let invalid = listed(&bad_name, true).expect("ls --all shows it");
    assert_eq!(invalid["kind"], "foreign");
    assert!(invalid["detail"]
        .as_str()
        .unwrap()
        .contains("invalid segment name"));
    let table = cli(&["ls", "--all"]).ok().text();
    let row = table
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap();
    assert!(row.split_whitespace().any(|c| c == "foreign"), "{row}");
    assert!(!cli(&["ls"]).ok().text().contains(&name));

    let not_a_segment = [name.as_str(), "not a shmiface segment"];
    cli(&["info", &name]).fails_with(&not_a_segment);
    cli(&["get", &name]).fails_with(&not_a_segment);
    cli(&["set", &name, "v"]).fails_with(&not_a_segment);
    cli(&["wait", &name, "--timeout", "1"]).fails_with(&not_a_segment);
    cli(&["watch", &name]).fails_with(&not_a_segment);
    cli(&["create", &name]).fails_with(&not_a_segment);
    assert!(exists(&name), "a failed create left it alone");
    cli(&["rm", &name]).ok();
    assert!(!exists(&name));
}

// ------------------------------------------------------------------ errors

#[test]
fn a_missing_segment_is_one_line_and_status_1() {
    let name = unique("missing");
    for args in [
        vec!["info", &name],
        vec!["info", &name, "--json"],
        vec!["get", &name],
        vec!["get", &name, "--bytes"],
        vec!["set", &name, "v"],
        vec!["set", &name, "v", "--notify"],
        vec!["wait", &name],
        vec!["wait", &name, "--timeout", "5"],
        vec!["watch", &name],
        vec!["rm", &name],
    ] {
        let out = cli(&args);
        out.fails_with(&[&format!("shmiface: {name}: no such segment")]);
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    }
    assert!(!exists(&name));
}

#[test]
fn bad_arguments_are_status_1() {
    for (args, needle) in [
        (&["get", "a/b"][..], "invalid segment name"),
        (&["create", ".hidden"], "invalid segment name"),
        (&["create", "cli-zero", "--capacity", "0"], "capacity 0"),
    ] {
        cli(args).fails_with(&[args[1], needle]);
    }
    // Usage errors: clap's message, and status 1 (2 is wait's timeout).
    for args in [
        &["wait", "x", "--timeout", "soon"][..],
        &["create", "x", "--mode", "999"],
        &["create", "x", "--capacity", "lots"],
        &["get"],
        &["frobnicate"],
        &[],
    ] {
        let out = cli(args);
        assert_eq!(out.code(), 1, "{args:?}: {out:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: {out:?}");
    }
}

#[test]
fn help_on_every_command() {
    let top = cli(&["--help"]).ok().text();
    for sub in [
        "ls", "info", "get", "set", "wait", "watch", "tail", "create", "rm", "gc",
    ] {
        assert!(top.contains(&format!("  {sub} ")), "{sub} in {top}");
        let help = cli(&[sub, "--help"]).ok().text();
        assert!(help.contains(&format!("Usage: shmiface {sub}")), "{help}");
        assert_eq!(cli(&["help", sub]).ok().text(), help);
    }
    assert!(cli(&["--version"]).ok().text().starts_with("shmiface "));
}

/// A history segment from the command line: `create --history`, `info`
/// showing it and the oldest version, `tail` printing the kept values, and
/// `watch` printing every version with the losses counted.
#[test]
fn streams_from_the_shell() {
    let name = unique("stream");
    let _cleanup = Cleanup(name.clone());
    let holder = spawn_cli(&["create", &name, "--history", "4"]);
    assert!(holder.line().contains("history 4"));
    for v in ["a", "b", "c", "d", "e", "f"] {
        cli(&["set", &name, v]).ok();
    }
    let info = info(&name);
    assert_eq!(info["history"], 4);
    assert_eq!(info["oldest_version"], 3);
    assert_eq!(cli(&["tail", &name]).ok().text(), "c\nd\ne\nf\n");
    assert_eq!(cli(&["tail", &name, "-n", "2"]).ok().text(), "e\nf\n");
    let watching = spawn_cli(&["watch", &name]);
    until_waiting(&name);
    cli(&["set", &name, "g"]).ok();
    assert_eq!(watching.line(), "g");
    watching.signal(libc::SIGSTOP);
    for v in ["h", "i", "j", "k", "l", "m", "n"] {
        cli(&["set", &name, v]).ok();
    }
    watching.signal(libc::SIGCONT);
    // Versions 8..=10 were overwritten while the watch was stopped.
    assert_eq!(watching.line(), "k");
    watching.signal(libc::SIGINT);
    let ended = watching.finish().ok();
    assert!(ended.stderr.contains("3 values lost"), "{ended:?}");
    holder.signal(libc::SIGINT);
    holder.finish().ok();
}
