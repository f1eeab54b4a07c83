//! Shared helpers of the reliability suite (`tests/reliability_*.rs`):
//! child processes (the test binary re-executed with a role), a scoreboard
//! that survives SIGKILL (a shared file mapping of plain atomics), unique
//! names and cleanup, self-checking values, raw objects in /dev/shm, and
//! calls through the C ABI.
#![allow(dead_code)]

use std::ffi::CString;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use shmiface::ffi;

#[path = "../common/checks.rs"]
mod checks;
// Each test binary uses only some of these.
#[allow(unused_imports)]
pub use checks::{check_pattern, pattern, within, HANG};

const ROLE_ENV: &str = "SHMIFACE_RELIABILITY_ROLE";

/// A segment name unique to this process and call.
pub fn unique(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "rel-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes a name from /dev/shm when dropped (whatever is there: a test
/// may have left a symlink, a directory or a FIFO).
pub struct Cleanup(pub String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let path = shm_path(&self.0);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir(&path);
    }
}

pub fn shm_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new("/dev/shm").join(name)
}

pub fn exists(name: &str) -> bool {
    std::fs::symlink_metadata(shm_path(name)).is_ok()
}

/// Prints a line that libtest does not capture (for figures worth seeing
/// in `make test` output).
pub fn report(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

// ---------------------------------------------------------------- roles

/// The role this process was started with, and its arguments.
pub fn role_from_env() -> Option<(String, Vec<String>)> {
    let spec = std::env::var(ROLE_ENV).ok()?;
    let mut parts = spec.split('\u{1f}').map(str::to_owned);
    let role = parts.next()?;
    Some((role, parts.collect()))
}

/// The command that re-executes this test binary as `role` (the test named
/// `child_entry` of the calling file runs it), optionally through a
/// wrapper such as `setpriv` or `unshare`.
pub fn role_command(wrapper: &[&str], exe: &std::path::Path, role: &str, args: &[&str]) -> Command {
    let mut spec = role.to_owned();
    for a in args {
        spec.push('\u{1f}');
        spec.push_str(a);
    }
    let mut cmd = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.args(["child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE_ENV, spec)
        .stdin(Stdio::null());
    cmd
}

pub fn spawn_role(role: &str, args: &[&str]) -> std::process::Child {
    role_command(&[], &std::env::current_exe().unwrap(), role, args)
        .stdout(Stdio::null())
        .spawn()
        .expect("re-executing the test binary")
}

/// Runs a role to completion and returns its exit code and standard
/// output lines (failing the test if it hangs).
pub fn run_role(
    wrapper: &[&str],
    exe: &std::path::Path,
    role: &str,
    args: &[&str],
) -> (i32, Vec<String>) {
    let child = role_command(wrapper, exe, role, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting a role");
    let out = wait_output(child);
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.find("OUT:").map(|at| l[at + 4..].to_owned()))
        .collect();
    (out.status.code().unwrap_or(-1), lines)
}

/// A line a role reports to `run_role`.
pub fn say(line: impl std::fmt::Display) {
    println!("OUT:{line}");
}

fn wait_output(child: std::process::Child) -> std::process::Output {
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(HANG) {
        Ok(out) => out.expect("waiting for a role"),
        Err(_) => {
            // SAFETY: plain syscall on our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("role process {pid} hung for {HANG:?}");
        }
    }
}

/// SIGKILLs a child and reaps it.
pub fn kill9(child: &mut std::process::Child) {
    // SAFETY: plain syscall on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
}

/// Polls `cond` every millisecond until it holds; panics after the hang guard.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < HANG,
            "{what}: still not true after {HANG:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

// ---------------------------------------------------------------- randomness

/// splitmix64: small, seedable, good enough to pick moments and victims.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn from_time() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Rng(t ^ (u64::from(std::process::id()) << 32))
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

// ---------------------------------------------------------------- scoreboard

/// Counters shared by every process of a run, in a file mapping: a process
/// killed mid-run leaves everything it counted so far.
pub struct Board {
    ptr: *mut AtomicU64,
    words: usize,
    path: std::path::PathBuf,
    remove: bool,
}

// SAFETY: the mapping holds only atomics.
unsafe impl Send for Board {}
// SAFETY: as above.
unsafe impl Sync for Board {}

pub const SLOT_WORDS: usize = 16;

impl Board {
    /// Makes a fresh board of `slots` slots in the temporary directory.
    pub fn create(slots: usize) -> Board {
        let path = std::env::temp_dir().join(format!(
            "shmiface-board-{}-{}",
            std::process::id(),
            unique("b")
        ));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        file.set_len((slots * SLOT_WORDS * 8) as u64).unwrap();
        Board::map(file, path, true)
    }

    /// Maps the board another process made.
    pub fn open(path: &str) -> Board {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        Board::map(file, path.into(), false)
    }

    fn map(file: std::fs::File, path: std::path::PathBuf, remove: bool) -> Board {
        let len = file.metadata().unwrap().len() as usize;
        // SAFETY: a fresh shared mapping of the whole file.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED);
        Board {
            ptr: ptr as *mut AtomicU64,
            words: len / 8,
            path,
            remove,
        }
    }

    pub fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }

    pub fn word(&self, slot: usize, field: usize) -> &AtomicU64 {
        let i = slot * SLOT_WORDS + field;
        assert!(field < SLOT_WORDS && i < self.words);
        // SAFETY: in bounds (checked); the mapping lives as long as self.
        unsafe { &*self.ptr.add(i) }
    }

    pub fn get(&self, slot: usize, field: usize) -> u64 {
        self.word(slot, field).load(Ordering::SeqCst)
    }

    pub fn set(&self, slot: usize, field: usize, v: u64) {
        self.word(slot, field).store(v, Ordering::SeqCst)
    }

    pub fn add(&self, slot: usize, field: usize, v: u64) {
        self.word(slot, field).fetch_add(v, Ordering::SeqCst);
    }

    pub fn max(&self, slot: usize, field: usize, v: u64) {
        self.word(slot, field).fetch_max(v, Ordering::SeqCst);
    }

    pub fn clear_slot(&self, slot: usize) {
        for f in 0..SLOT_WORDS {
            self.set(slot, f, 0);
        }
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        // SAFETY: exactly what mmap returned.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.words * 8) };
        if self.remove {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

// ---------------------------------------------------------------- C ABI

pub fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// This thread's `shmiface_last_error`, read through the C ABI.
pub fn last_error() -> String {
    // SAFETY: a NULL buffer asks for the length only.
    let len = unsafe { ffi::shmiface_last_error(std::ptr::null_mut(), 0) };
    let mut buf = vec![0u8; len + 1];
    // SAFETY: buf holds len + 1 bytes.
    let copied = unsafe { ffi::shmiface_last_error(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(copied, len);
    buf.truncate(len);
    String::from_utf8_lossy(&buf).into_owned()
}

/// `shmiface_get_instance` through the C ABI: the status, the handle (if
/// OK) and the detail (if not).
pub fn c_get_instance(name: &str) -> (i32, Option<*mut ffi::shmiface_segment>, String) {
    let n = cstr(name);
    let mut out: *mut ffi::shmiface_segment = std::ptr::null_mut();
    // SAFETY: valid name and out pointer.
    let status = unsafe { ffi::shmiface_get_instance(n.as_ptr(), &mut out) };
    if status == ffi::SHMIFACE_OK {
        (status, Some(out), String::new())
    } else {
        assert!(out.is_null(), "out written on failure");
        (status, None, last_error())
    }
}

/// `shmiface_init_instance` through the C ABI.
pub fn c_init_instance(
    name: &str,
    options: Option<ffi::shmiface_options>,
) -> (i32, Option<*mut ffi::shmiface_segment>, String) {
    let n = cstr(name);
    let mut out: *mut ffi::shmiface_segment = std::ptr::null_mut();
    let opts = options.as_ref().map_or(std::ptr::null(), |o| o as *const _);
    // SAFETY: valid pointers.
    let status = unsafe { ffi::shmiface_init_instance(n.as_ptr(), opts, &mut out) };
    if status == ffi::SHMIFACE_OK {
        (status, Some(out), String::new())
    } else {
        assert!(out.is_null(), "out written on failure");
        (status, None, last_error())
    }
}

pub fn c_destroy(seg: *mut ffi::shmiface_segment) -> i32 {
    // SAFETY: a live handle, released once.
    unsafe { ffi::shmiface_destroy(seg) }
}

pub fn status_name(status: i32) -> String {
    // SAFETY: status_str returns a static NUL-terminated string.
    let s = unsafe { std::ffi::CStr::from_ptr(ffi::shmiface_status_str(status)) };
    format!("{status} ({})", s.to_string_lossy())
}

// ---------------------------------------------------------------- raw objects

/// Writes `bytes` as a new object in /dev/shm (not through the library),
/// with `mode`, replacing any old one.
pub fn write_object(name: &str, bytes: &[u8], mode: u32) {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = shm_path(name);
    let _ = std::fs::remove_file(&path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&path)
        .unwrap();
    f.write_all(bytes).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The raw bytes of the object behind a name.
pub fn read_object(name: &str) -> Vec<u8> {
    std::fs::read(shm_path(name)).unwrap()
}

/// The bytes of a real, ready segment of `capacity` holding `value`, made by
/// the library and then removed (so no owner holds it).
pub fn valid_image(capacity: u64, value: &[u8]) -> Vec<u8> {
    let name = unique("image");
    let _cleanup = Cleanup(name.clone());
    let seg = shmiface::Segment::create(
        &name,
        &shmiface::Options {
            capacity,
            ..Default::default()
        },
    )
    .unwrap();
    seg.write(value, false).unwrap();
    let image = read_object(&name);
    // Dropping the handle without destroy keeps the object's bytes "ready".
    drop(seg);
    image
}

pub fn put_u32(image: &mut [u8], offset: usize, v: u32) {
    image[offset..offset + 4].copy_from_slice(&v.to_ne_bytes());
}

pub fn put_u64(image: &mut [u8], offset: usize, v: u64) {
    image[offset..offset + 8].copy_from_slice(&v.to_ne_bytes());
}

pub fn get_u64(image: &[u8], offset: usize) -> u64 {
    u64::from_ne_bytes(image[offset..offset + 8].try_into().unwrap())
}

pub fn is_root() -> bool {
    // SAFETY: plain syscall.
    unsafe { libc::geteuid() == 0 }
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
