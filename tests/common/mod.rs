//! Helpers for tests that run real separate processes: the test binary
//! re-executes itself with a role (see `spawn_role` and `role_from_env`),
//! and talks to the child through lines on its standard output.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

mod checks;
// Each test binary uses only some of these.
#[allow(unused_imports)]
pub use checks::{check_pattern, pattern, within, HANG};

const ROLE_ENV: &str = "SHMIFACE_TEST_ROLE";
const PREFIX: &str = "ROLE:";

/// A segment name unique to this process and call.
pub fn unique(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "t-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Unlinks a name when dropped, so a failing test leaves nothing behind.
pub struct Cleanup(pub String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = shmiface::unlink(&self.0);
    }
}

/// The role this process was started with, and its arguments, if any.
pub fn role_from_env() -> Option<(String, Vec<String>)> {
    let spec = std::env::var(ROLE_ENV).ok()?;
    let mut parts = spec.split('\u{1f}').map(str::to_owned);
    let role = parts.next()?;
    Some((role, parts.collect()))
}

/// Prints a line the parent can read with `Child::line`.
pub fn say(line: impl std::fmt::Display) {
    println!("{PREFIX}{line}");
}

pub struct Child {
    inner: std::process::Child,
    lines: Receiver<String>,
}

/// Starts this test binary again as `role` with `args`; the test named
/// `child_entry` in the calling test file runs the role.
pub fn spawn_role(role: &str, args: &[&str]) -> Child {
    spawn_role_env(role, args, &[])
}

/// As [`spawn_role`], with extra environment variables (crash points).
pub fn spawn_role_env(role: &str, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut spec = role.to_owned();
    for a in args {
        spec.push('\u{1f}');
        spec.push_str(a);
    }
    let mut inner = Command::new(std::env::current_exe().unwrap())
        .args(["child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE_ENV, spec)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("re-executing the test binary");
    let stdout = inner.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest may print "test child_entry ... " in front of it.
            if let Some(at) = line.find(PREFIX) {
                if tx.send(line[at + PREFIX.len()..].to_owned()).is_err() {
                    break;
                }
            }
        }
    });
    Child { inner, lines }
}

impl Child {
    pub fn pid(&self) -> i32 {
        self.inner.id() as i32
    }

    /// The child's next line; panics if none comes within the hang guard.
    pub fn line(&self) -> String {
        self.lines
            .recv_timeout(HANG)
            .unwrap_or_else(|_| panic!("child {} said nothing within {HANG:?}", self.pid()))
    }

    pub fn kill(&mut self) {
        let _ = self.inner.kill();
        let _ = self.inner.wait();
    }

    /// Waits for the child to end; the signal that ended it, if one did.
    pub fn end_signal(&mut self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        let start = Instant::now();
        loop {
            if let Some(status) = self.inner.try_wait().unwrap() {
                return status.signal();
            }
            if start.elapsed() > HANG {
                self.kill();
                panic!("child {} hung", self.pid());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Waits until one of the child's threads sleeps in a crash point's
    /// `sleep(MS)` (the kernel's nanosleep), so the test acts while the
    /// child is exactly at that step.
    pub fn wait_until_paused(&self) {
        let start = Instant::now();
        let tasks = format!("/proc/{}/task", self.pid());
        loop {
            let paused = std::fs::read_dir(&tasks)
                .into_iter()
                .flatten()
                .flatten()
                .any(|t| {
                    std::fs::read_to_string(t.path().join("wchan"))
                        .is_ok_and(|w| w.contains("nanosleep"))
                });
            if paused {
                return;
            }
            assert!(start.elapsed() < HANG, "child {} never paused", self.pid());
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Waits for the exit code, killing the child (and failing) after the hang guard.
    pub fn exit_code(&mut self) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.inner.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if start.elapsed() > HANG {
                self.kill();
                panic!("child {} hung", self.pid());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.inner.try_wait() {
            self.kill();
        }
    }
}
