//! Helpers for tests that run real separate processes: the test binary
//! re-executes itself with a role (see `spawn_role` and `role_from_env`),
//! and talks to the child through lines on its standard output.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Generous hang guard: a test that needs this long has hung.
pub const HANG: Duration = Duration::from_secs(60);
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
    let mut spec = role.to_owned();
    for a in args {
        spec.push('\u{1f}');
        spec.push_str(a);
    }
    let mut inner = Command::new(std::env::current_exe().unwrap())
        .args(["child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE_ENV, spec)
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

/// Runs `f` on another thread and fails the test if it does not finish in time.
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("{what} did not finish within {HANG:?}: a hang"))
}

/// A self-checking value: the first 8 bytes hold (writer << 48 | counter),
/// every later byte is derived from them, and the length from the counter,
/// so any mix of two writes is detected.
pub fn pattern(writer: u64, counter: u64, capacity: usize) -> Vec<u8> {
    let tag = (writer << 48) | counter;
    let len = 8 + (counter as usize * 7) % (capacity - 8 + 1);
    let mut v = tag.to_le_bytes().to_vec();
    v.extend((8..len).map(|i| byte_at(tag, i)));
    v
}

fn byte_at(tag: u64, i: usize) -> u8 {
    (tag.wrapping_mul(31).wrapping_add(i as u64 * 131) % 251) as u8
}

/// Checks a value made by `pattern` (or the empty initial value).
pub fn check_pattern(v: &[u8], capacity: usize) -> Result<(), String> {
    if v.is_empty() {
        return Ok(());
    }
    if v.len() < 8 {
        return Err(format!("length {} is shorter than a tag", v.len()));
    }
    let tag = u64::from_le_bytes(v[..8].try_into().unwrap());
    let counter = tag & ((1 << 48) - 1);
    let expected_len = 8 + (counter as usize * 7) % (capacity - 8 + 1);
    if v.len() != expected_len {
        return Err(format!(
            "tag {tag:#x}: length {} but expected {expected_len}",
            v.len()
        ));
    }
    match (8..v.len()).find(|&i| v[i] != byte_at(tag, i)) {
        Some(i) => Err(format!("tag {tag:#x}: byte {i} belongs to another write")),
        None => Ok(()),
    }
}
