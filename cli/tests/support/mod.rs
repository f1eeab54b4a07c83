//! Helpers for the `shmiface` command's tests: run the built binary, and
//! run peers (tests/peers/owner.c and owner.py) that own or attach to
//! segments from other processes and answer one command a line.
//!
//! Every wait here is a hang guard (`HANG`), never a timing assertion.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A test that needs this long for one step has hung.
pub const HANG: Duration = Duration::from_secs(60);

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_shmiface")
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ lives in the repository")
        .to_path_buf()
}

/// A segment name unique to this process and call.
pub fn unique(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "cli-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn shm_path(name: &str) -> PathBuf {
    Path::new(shmiface::SHM_DIR).join(name)
}

pub fn exists(name: &str) -> bool {
    shm_path(name).symlink_metadata().is_ok()
}

/// Removes a /dev/shm name when dropped, so a failing test leaves nothing.
pub struct Cleanup(pub String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(shm_path(&self.0));
    }
}

/// Held by every test that leaves a segment without a live owner, or runs
/// `gc` (which removes every such segment in /dev/shm): tests in this
/// binary run in parallel, and one's `gc` must not take another's segment.
pub fn ownerless_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// How this process makes a mount namespace with an empty /dev/shm:
/// `unshare`'s arguments (as root, or through a user namespace), if at all.
fn private_shm() -> Option<&'static [&'static str]> {
    static HOW: OnceLock<Option<&'static [&'static str]>> = OnceLock::new();
    *HOW.get_or_init(|| {
        [&["-m"][..], &["-r", "-m"]].into_iter().find(|how| {
            Command::new("unshare")
                .args(*how)
                .args(["--propagation", "private", "sh", "-c", PRIVATE_SHM, "true"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    })
}

/// Mounts an empty tmpfs on /dev/shm, then runs its arguments.
const PRIVATE_SHM: &str = "mount -t tmpfs -o size=1m shmiface-test /dev/shm && exec \"$0\" \"$@\"";

/// Runs `shmiface ARGS` with a /dev/shm of its own (an empty tmpfs in a
/// private mount namespace), so what it reports is known exactly whatever
/// other processes keep in the real one. None, having said so, where no
/// such namespace can be made here.
pub fn cli_in_empty_shm(args: &[&str]) -> Option<Out> {
    let Some(how) = private_shm() else {
        eprintln!("SKIPPED: no private /dev/shm here (unshare -m and unshare -rm both refused)");
        return None;
    };
    let out = Command::new("unshare")
        .args(how)
        .args(["--propagation", "private", "sh", "-c", PRIVATE_SHM, bin()])
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("running unshare");
    Some(Out {
        status: out.status,
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Polls `ok` until it holds (a hang guard, not a deadline under test).
pub fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < HANG, "hung waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------- the CLI

pub struct Out {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Out {
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.text()))
    }

    /// Status 0, or a panic showing everything.
    pub fn ok(self) -> Out {
        assert_eq!(self.code(), 0, "expected success: {self:?}");
        self
    }

    /// Status 1 with exactly one line on stderr containing every `needle`.
    pub fn fails_with(&self, needles: &[&str]) {
        assert_eq!(self.code(), 1, "expected status 1: {self:?}");
        assert_eq!(
            self.stderr.lines().count(),
            1,
            "expected one line on stderr: {self:?}"
        );
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr lacks {needle:?}: {self:?}"
            );
        }
    }
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status {:?}, stdout {:?}, stderr {:?}",
            self.status,
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        )
    }
}

fn cli_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args).env_remove("NO_COLOR");
    cmd
}

/// Runs `shmiface ARGS` to completion.
pub fn cli(args: &[&str]) -> Out {
    cli_with_input(args, b"")
}

/// Runs `shmiface ARGS` with `input` on its standard input.
pub fn cli_with_input(args: &[&str], input: &[u8]) -> Out {
    let mut child = cli_command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running target/.../shmiface");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // A command that does not read its input may close it first: ignore that.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = finish(child, &format!("shmiface {}", args.join(" ")));
    feeder.join().unwrap();
    out
}

/// Waits for a child (hang guard: killed after `HANG`) and collects its output.
fn finish(mut child: Child, what: &str) -> Out {
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Both pipes drain at once, so neither can fill and stall the child.
        let err_reader = std::thread::spawn(move || {
            let mut err = String::new();
            if let Some(s) = stderr.as_mut() {
                let _ = s.read_to_string(&mut err);
            }
            err
        });
        let mut out = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_end(&mut out);
        }
        let err = err_reader.join().unwrap();
        let status = child.wait().expect("waiting for a child");
        let _ = tx.send(Out {
            status,
            stdout: out,
            stderr: err,
        });
    });
    match rx.recv_timeout(HANG) {
        Ok(out) => out,
        Err(_) => {
            // SAFETY: kill with a pid we spawned and have not reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("{what} hung");
        }
    }
}

/// A long-running `shmiface` (wait, watch, create), read line by line.
pub struct Running {
    child: Option<Child>,
    lines: Receiver<String>,
    err_lines: Receiver<String>,
    what: String,
}

pub fn spawn_cli(args: &[&str]) -> Running {
    let mut child = cli_command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running target/.../shmiface");
    let lines = line_reader(child.stdout.take().unwrap());
    let err_lines = line_reader(child.stderr.take().unwrap());
    Running {
        child: Some(child),
        lines,
        err_lines,
        what: format!("shmiface {}", args.join(" ")),
    }
}

fn line_reader(out: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Running {
    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    /// The next line of its standard output.
    pub fn line(&self) -> String {
        self.lines
            .recv_timeout(HANG)
            .unwrap_or_else(|e| panic!("{}: no line on stdout ({e})", self.what))
    }

    /// The next line of its standard error.
    pub fn err_line(&self) -> String {
        self.err_lines
            .recv_timeout(HANG)
            .unwrap_or_else(|e| panic!("{}: no line on stderr ({e})", self.what))
    }

    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: a pid we spawned and have not reaped.
        assert_eq!(unsafe { libc::kill(self.pid(), sig) }, 0);
    }

    /// Waits for it to exit: its status, the rest of its stdout, its stderr.
    pub fn finish(mut self) -> Out {
        let child = self.child.take().unwrap();
        let mut out = finish(child, &self.what);
        // The reader ends at end of file, which has come: the child exited.
        let rest: String = std::iter::from_fn(|| self.lines.recv_timeout(HANG).ok())
            .map(|l| l + "\n")
            .collect();
        out.stdout = rest.into_bytes();
        out.stderr = std::iter::from_fn(|| self.err_lines.recv_timeout(HANG).ok())
            .map(|l| l + "\n")
            .collect();
        out
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `shmiface info NAME --json`, parsed.
pub fn info(name: &str) -> Value {
    cli(&["info", name, "--json"]).ok().json()
}

/// This name's element of `shmiface ls [--all] --json`, if it has one.
pub fn listed(name: &str, all: bool) -> Option<Value> {
    let args: &[&str] = if all {
        &["ls", "--all", "--json"]
    } else {
        &["ls", "--json"]
    };
    let list = cli(args).ok().json();
    list.as_array()
        .expect("ls --json prints an array")
        .iter()
        .find(|e| e["name"] == name)
        .cloned()
}

/// Waits until a process is blocked waiting on the segment.
pub fn until_waiting(name: &str) {
    until(&format!("someone waits on {name}"), || {
        info(name)["waiters"].as_u64().unwrap() >= 1
    });
}

// ---------------------------------------------------------------- peers

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    C,
    Python,
}

/// libshmiface.so as the Makefile exports it (SHMIFACE_LIB), or the one in
/// target/release; its directory also holds the libshmiface.so.1 link that
/// `make lib` makes.
fn library() -> PathBuf {
    let lib = std::env::var_os("SHMIFACE_LIB")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/release/libshmiface.so"));
    let soname = lib.with_file_name("libshmiface.so.1");
    assert!(
        lib.exists() && soname.exists(),
        "{} or its libshmiface.so.1 link is missing: run `make lib` first",
        lib.display()
    );
    lib
}

/// tests/peers/owner.c, compiled once per test run.
fn c_owner() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = root();
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-owner");
        let lib = library();
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let status = Command::new(&cc)
            .args([
                "-std=c11",
                "-Wall",
                "-Wextra",
                "-Wpedantic",
                "-Werror",
                "-g",
            ])
            .arg(format!("-I{}", root.join("include").display()))
            .arg(root.join("cli/tests/peers/owner.c"))
            .arg(format!("-L{}", lib.parent().unwrap().display()))
            .arg("-lshmiface")
            .arg("-o")
            .arg(&out)
            .status()
            .unwrap_or_else(|e| panic!("running {cc}: {e}"));
        assert!(status.success(), "compiling tests/peers/owner.c failed");
        out
    })
}

fn python() -> PathBuf {
    std::env::var_os("SHMIFACE_CLI_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"))
}

/// A peer process holding a segment, answering one command a line.
pub struct Peer {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    pub pid: i32,
    pub lang: Lang,
}

impl Peer {
    /// Creates `name` in a new process of `lang` and owns it.
    pub fn owner(lang: Lang, name: &str, capacity: u64, mode: u32, persistent: bool) -> Peer {
        let capacity = capacity.to_string();
        let mode = format!("{mode:o}");
        let persistent = if persistent { "1" } else { "0" };
        Peer::start(lang, &["owner", name, &capacity, &mode, persistent])
    }

    /// Attaches to `name` from a new process of `lang`.
    pub fn attacher(lang: Lang, name: &str) -> Peer {
        Peer::start(lang, &["attach", name])
    }

    fn start(lang: Lang, args: &[&str]) -> Peer {
        let lib = library();
        let mut cmd = match lang {
            Lang::C => Command::new(c_owner()),
            Lang::Python => {
                let mut cmd = Command::new(python());
                cmd.arg(root().join("cli/tests/peers/owner.py"))
                    .env("PYTHONPATH", root().join("bindings/python"))
                    .env("SHMIFACE_LIB", &lib);
                cmd
            }
        };
        let mut child = cmd
            .args(args)
            .env("LD_LIBRARY_PATH", lib.parent().unwrap())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the {lang:?} peer: {e}"));
        let stdin = child.stdin.take();
        let lines = line_reader(child.stdout.take().unwrap());
        let mut peer = Peer {
            child: Some(child),
            stdin,
            lines,
            pid: 0,
            lang,
        };
        let ready = peer.reply();
        let pid = ready
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("the {lang:?} peer did not start: {ready:?}"));
        peer.pid = pid.parse().unwrap();
        peer
    }

    fn reply(&self) -> String {
        self.lines
            .recv_timeout(HANG)
            .unwrap_or_else(|e| panic!("the {:?} peer did not answer ({e})", self.lang))
    }

    /// Sends one command and returns the answer.
    pub fn cmd(&mut self, line: &str) -> String {
        let stdin = self.stdin.as_mut().expect("the peer is running");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .unwrap();
        self.reply()
    }

    /// Sends a command that must answer "ok".
    pub fn must(&mut self, line: &str) {
        let answer = self.cmd(line);
        assert_eq!(answer, "ok", "{:?} peer, {line:?}", self.lang);
    }

    /// Kills it with SIGKILL: it dies owning its segment.
    pub fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // End of input: the peer destroys its handle and exits.
        drop(self.stdin.take());
        if let Some(mut child) = self.child.take() {
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if start.elapsed() > HANG {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}
