//! What the command says in the corners a newcomer meets first: an empty
//! name, a timeout, `--timeout -1`, nothing to list or collect, a value
//! piped in with `echo`, and a wait on a segment whose owner is dead.

mod support;

use support::{
    cli, cli_in_empty_shm, cli_with_input, ownerless_lock, spawn_cli, unique, until_waiting,
    Cleanup, Lang, Peer,
};

#[test]
fn an_empty_name_is_said_to_be_empty_with_no_blank_subject() {
    for args in [&["get", ""][..], &["info", ""], &["wait", ""], &["rm", ""]] {
        let out = cli(args);
        out.fails_with(&["shmiface: invalid segment name \"\""]);
        assert!(!out.stderr.contains("shmiface: :"), "{args:?}: {out:?}");
    }
}

#[test]
fn a_timeout_names_the_segment_once() {
    let name = unique("timeout");
    let _cleanup = Cleanup(name.clone());
    let _owner = Peer::owner(Lang::C, &name, 16, 0o600, false);
    let out = cli(&["wait", &name, "--timeout", "0.2"]);
    assert_eq!(out.code(), 2, "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert_eq!(
        out.stderr,
        format!("shmiface: {name}: no notification within 200 ms\n")
    );
}

#[test]
fn timeout_minus_one_waits_forever_as_in_the_c_api() {
    let name = unique("forever");
    let _cleanup = Cleanup(name.clone());
    let mut owner = Peer::owner(Lang::C, &name, 16, 0o600, false);
    let waiting = spawn_cli(&["wait", &name, "--timeout", "-1"]);
    until_waiting(&name);
    owner.must("setn woken");
    assert_eq!(waiting.finish().ok().text(), "woken\n");
    for bad in ["-2", "-0.5"] {
        let out = cli(&["wait", &name, "--timeout", bad]);
        assert_eq!(out.code(), 1, "{bad}: {out:?}");
        assert!(out.stderr.contains("-1 (forever)"), "{bad}: {out:?}");
    }
}

/// An empty /dev/shm: `ls` prints its headings, `--json` an empty array,
/// `gc` says on standard output that there is nothing to remove; nothing
/// on standard error, status 0.
#[test]
fn nothing_to_list_or_collect_is_not_shaped_like_an_error() {
    let expect = [
        (
            &["ls"][..],
            "NAME  CAPACITY  LENGTH  VERSION  OWNER  STATE  WAITERS  MODE  NOTE\n",
        ),
        (
            &["ls", "--all"],
            "NAME  CAPACITY  LENGTH  VERSION  OWNER  STATE  WAITERS  MODE  NOTE\n",
        ),
        (&["ls", "--json"], "[]\n"),
        (&["gc"], "nothing to remove: no segment has a dead owner\n"),
        (
            &["gc", "--dry-run"],
            "nothing to remove: no segment has a dead owner\n",
        ),
    ];
    for (args, stdout) in expect {
        let Some(out) = cli_in_empty_shm(args) else {
            return;
        };
        let out = out.ok();
        assert_eq!(out.text(), stdout, "{args:?}: {out:?}");
        assert_eq!(out.stderr, "", "{args:?}: {out:?}");
    }
}

#[test]
fn set_from_standard_input_drops_one_final_newline_unless_bytes() {
    let name = unique("stdin");
    let _cleanup = Cleanup(name.clone());
    let _owner = Peer::owner(Lang::C, &name, 64, 0o600, false);
    for (args, input, stored) in [
        (&["set", &name, "-"][..], &b"hello\n"[..], &b"hello"[..]),
        (&["set", &name, "-"], b"two\n\n", b"two\n"),
        (&["set", &name, "-"], b"none", b"none"),
        (&["set", &name, "-", "--bytes"], b"raw\n", b"raw\n"),
        (&["set", "--bytes", &name, "-"], b"\0\n", b"\0\n"),
    ] {
        cli_with_input(args, input).ok();
        let got = cli(&["get", &name, "--bytes"]).ok().stdout;
        assert_eq!(got, stored, "{args:?} {input:?}");
    }
    // `get` then prints the value with the one newline it adds.
    cli_with_input(&["set", &name, "-"], b"frame 7\n").ok();
    assert_eq!(cli(&["get", &name]).ok().text(), "frame 7\n");
}

/// Makes `name` a segment whose C owner was killed; returns what `wait`
/// and `watch` say of it.
fn owner_killed(name: &str) -> String {
    let owner = Peer::owner(Lang::C, name, 16, 0o600, false);
    let pid = owner.pid;
    owner.kill();
    format!("shmiface: {name}: its owner (pid {pid}) is dead; still waiting")
}

/// `wait` on a segment whose owner is dead says so, and still ends on a
/// timeout or on a notification from another process.
#[test]
fn wait_says_when_the_owner_is_dead() {
    let _serial = ownerless_lock();
    let name = unique("dead-wait");
    let _cleanup = Cleanup(name.clone());
    let said = owner_killed(&name);

    let out = cli(&["wait", &name, "--timeout", "0.3"]);
    assert_eq!(out.code(), 2, "{out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{out:?}");
    assert!(lines[0].starts_with(&said), "{out:?}");
    assert!(
        lines[1].ends_with("no notification within 300 ms"),
        "{out:?}"
    );

    let waiting = spawn_cli(&["wait", &name]);
    assert!(waiting.err_line().starts_with(&said));
    until_waiting(&name);
    cli(&["set", &name, "from a survivor", "--notify"]).ok();
    let woke = waiting.finish().ok();
    assert_eq!(woke.text(), "from a survivor\n");
}

/// `watch` on a segment whose owner is already dead says so once, at the
/// start, and still prints every value another process sets.
#[test]
fn watch_says_when_the_owner_is_already_dead() {
    let _serial = ownerless_lock();
    let name = unique("dead-watch");
    let _cleanup = Cleanup(name.clone());
    let said = owner_killed(&name);

    let watching = spawn_cli(&["watch", &name]);
    assert!(watching.err_line().starts_with(&said));
    until_waiting(&name);
    cli(&["set", &name, "one", "--notify"]).ok();
    assert_eq!(watching.line(), "one");
    cli(&["set", &name, "two", "--notify"]).ok();
    assert_eq!(watching.line(), "two");
    watching.signal(libc::SIGINT);
    let ended = watching.finish().ok();
    assert_eq!(ended.stderr, "", "said once: {ended:?}");
}

/// The owner dies while `wait` and `watch` wait: each says so once, and
/// goes on (watch until SIGINT, wait until a notification).
#[test]
fn wait_and_watch_say_when_the_owner_dies_meanwhile() {
    let _serial = ownerless_lock();
    let name = unique("dies");
    let _cleanup = Cleanup(name.clone());
    let owner = Peer::owner(Lang::Python, &name, 16, 0o600, false);
    let pid = owner.pid;
    let waiting = spawn_cli(&["wait", &name]);
    let watching = spawn_cli(&["watch", &name]);
    support::until(&format!("two waiters on {name}"), || {
        support::info(&name)["waiters"].as_u64().unwrap() >= 2
    });
    owner.kill();
    let said = format!("shmiface: {name}: its owner (pid {pid}) is dead; still waiting");
    assert!(waiting.err_line().starts_with(&said));
    assert!(watching.err_line().starts_with(&said));
    cli(&["set", &name, "still here", "--notify"]).ok();
    assert_eq!(waiting.finish().ok().text(), "still here\n");
    assert_eq!(watching.line(), "still here");
    watching.signal(libc::SIGINT);
    let ended = watching.finish().ok();
    assert_eq!(ended.stderr, "", "said once: {ended:?}");
}

/// `shmiface bridge` runs the shmiface-bridge next to it (here a stand-in
/// script, so this test needs no Zenoh build), and says plainly when there
/// is none.
#[test]
fn bridge_runs_the_bridge_beside_it_or_says_it_is_not_built() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(unique("bridge"));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("shmiface");
    std::fs::copy(support::bin(), &copy).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(&copy)
            .args(args)
            .env("PATH", "")
            .output()
            .unwrap()
    };
    let missing = run(&["bridge", "--import", "x"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.starts_with("shmiface: bridge: shmiface-bridge is not built")
            && stderr.contains("make bridge"),
        "{stderr}"
    );
    let fake = dir.join("shmiface-bridge");
    std::fs::write(&fake, "#!/bin/sh\necho \"bridge:$*\"\nexit 3\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let found = run(&["bridge", "--help", "--export", "a.*"]);
    assert_eq!(found.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&found.stdout),
        "bridge:--help --export a.*\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
