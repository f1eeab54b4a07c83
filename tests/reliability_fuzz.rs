//! Property-based fuzzing with proptest (cargo-fuzz needs a nightly
//! toolchain, which CI does not have):
//!
//! - `header_bytes`: a real segment's bytes with random corruptions
//!   (bytes, whole words set to edge values, the object cut or grown) are
//!   attached to, read, waited on, written and taken over. Every call must
//!   return (no crash, no hang, no panic); attach may only fail with
//!   INCOMPATIBLE, NOT_READY or DESTROYED; init_instance either refuses with
//!   INCOMPATIBLE, leaving the object untouched, or gives a working segment.
//! - `every_export`: random sequences of calls to every exported function
//!   with random arguments (NULL or not for each pointer, random names and
//!   bytes, sizes around the capacity, any flags, any timeout that cannot
//!   block), checked against a model of the segment: the exact status,
//!   out-parameters untouched on failure, the value, version and
//!   notification count, and a last-error detail naming the function.
//!
//! `make test` runs a short pass with a fixed seed. `make fuzz` sets
//! `SHMIFACE_FUZZ_SECS`, and each property then runs batches with fresh
//! seeds (printed, and `SHMIFACE_FUZZ_SEED` replays one) until the time is up.

mod reliability_support;

use std::ffi::{c_char, CStr, CString};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use reliability_support::{report, unique, valid_image, write_object, Cleanup};
use shmiface::ffi::{self, shmiface_options, shmiface_segment};
use shmiface::{ErrorKind, Options, Segment};

const DEFAULT_SEED: u64 = 0x5348_4d49_4641_4345; // "SHMIFACE"

/// Runs `property` for the short seeded pass, or for `SHMIFACE_FUZZ_SECS`.
fn fuzz<S: Strategy>(
    label: &str,
    short_cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let secs: u64 = std::env::var("SHMIFACE_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let fixed_seed: Option<u64> = std::env::var("SHMIFACE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok());
    let start = Instant::now();
    let mut total = 0u64;
    let mut batch = 0u64;
    loop {
        let seed = match (secs, fixed_seed) {
            (_, Some(s)) => s,
            (0, None) => DEFAULT_SEED,
            _ => reliability_support::Rng::from_time().next(),
        };
        let cases = if secs == 0 { short_cases } else { 500 };
        let mut seed_bytes = [0u8; 32];
        seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let config = Config {
            cases,
            failure_persistence: None,
            rng_algorithm: RngAlgorithm::ChaCha,
            max_shrink_iters: 2000,
            ..Config::default()
        };
        let mut runner = TestRunner::new_with_rng(
            config,
            TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
        );
        if let Err(e) = runner.run(&strategy, &property) {
            panic!("fuzz {label}: seed {seed} (SHMIFACE_FUZZ_SEED={seed} replays it): {e}");
        }
        total += u64::from(cases);
        batch += 1;
        if secs == 0 || fixed_seed.is_some() || start.elapsed() >= Duration::from_secs(secs) {
            break;
        }
    }
    report(format!(
        "fuzz: {label}: {total} cases in {batch} batch(es), {:.1} s{}",
        start.elapsed().as_secs_f64(),
        if secs == 0 {
            format!(", seed {DEFAULT_SEED}")
        } else {
            String::new()
        }
    ));
}

// ---------------------------------------------------------------- header bytes

const CAP: u64 = 64;

#[derive(Clone, Debug)]
enum Corruption {
    Byte(usize, u8),
    Word(usize, u64),
    Resize(usize),
}

fn corruption(len: usize) -> impl Strategy<Value = Corruption> {
    let edge = prop_oneof![
        Just(0u64),
        Just(1),
        Just(2),
        Just(3),
        Just(u64::MAX),
        Just(u64::from(u32::MAX)),
        Just(CAP),
        Just(len as u64),
        Just(1 << 30),
        any::<u64>(),
    ];
    prop_oneof![
        // Most corruptions land in the header, where the checks are.
        6 => (0..256usize, any::<u8>()).prop_map(|(o, b)| Corruption::Byte(o, b)),
        2 => (0..len, any::<u8>()).prop_map(|(o, b)| Corruption::Byte(o, b)),
        4 => ((0..len / 4).prop_map(|w| w * 4), edge).prop_map(|(o, v)| Corruption::Word(o, v)),
        1 => (0..len + 128).prop_map(Corruption::Resize),
    ]
}

fn corrupt(image: &[u8], changes: &[Corruption]) -> (Vec<u8>, bool) {
    let mut b = image.to_vec();
    let mut touched_lock = false;
    for c in changes {
        match *c {
            Corruption::Byte(o, v) if o < b.len() => {
                touched_lock |= (64..128).contains(&o);
                b[o] = v;
            }
            Corruption::Word(o, v) if o + 8 <= b.len() => {
                touched_lock |= o + 8 > 64 && o < 128;
                b[o..o + 8].copy_from_slice(&v.to_ne_bytes());
            }
            Corruption::Word(o, v) if o + 4 <= b.len() => {
                touched_lock |= o + 4 > 64 && o < 128;
                b[o..o + 4].copy_from_slice(&(v as u32).to_ne_bytes());
            }
            Corruption::Resize(n) => b.resize(n, 0),
            _ => {}
        }
    }
    (b, touched_lock)
}

#[test]
fn header_bytes() {
    let image = valid_image(CAP, b"hello, fuzz");
    let len = image.len();
    let strategy = prop::collection::vec(corruption(len), 1..6);
    fuzz("header bytes", 1000, strategy, |changes| {
        let (bytes, touched_lock) = corrupt(&image, &changes);
        let name = unique("fz-hdr");
        let _cleanup = Cleanup(name.clone());
        write_object(&name, &bytes, 0o600);
        match Segment::attach_within(&name, Duration::from_millis(5)) {
            Ok(seg) => {
                let mut buf = vec![0u8; 256];
                let _ = seg.read_into(&mut buf);
                let _ = seg.peek();
                let _ = seg.read();
                let _ = seg.info();
                let mut seen = 0;
                let _ = seg.wait(Some(&mut seen), Some(Duration::ZERO));
                let _ = seg.wait(None, Some(Duration::ZERO));
                if !touched_lock {
                    // A corrupt writer lock is outside the promise (see docs/guarantees.md).
                    let _ = seg.write(b"x", true);
                    let _ = seg.compare_and_set(0, b"y", false);
                    let _ = seg.notify();
                }
                drop(seg);
            }
            Err(e) => prop_assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Incompatible | ErrorKind::NotReady | ErrorKind::Destroyed
                ),
                "attach gave {:?}: {}",
                e.kind(),
                e
            ),
        }
        let before = std::fs::read(reliability_support::shm_path(&name)).unwrap();
        match Segment::create(
            &name,
            &Options {
                capacity: CAP,
                ..Options::default()
            },
        ) {
            Ok(seg) => {
                // Whatever was there, the owner's segment works (its value
                // may be refused until the first write repairs it).
                seg.write(b"repaired", true)
                    .map_err(|e| TestCaseError::fail(format!("write after create: {e}")))?;
                let (v, _) = seg
                    .read()
                    .map_err(|e| TestCaseError::fail(format!("read after create: {e}")))?;
                prop_assert_eq!(v, b"repaired".to_vec());
                seg.destroy().unwrap();
            }
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::Incompatible, "create gave {}", e);
                let after = std::fs::read(reliability_support::shm_path(&name)).unwrap();
                prop_assert!(after == before, "a refused create changed the object");
            }
        }
        Ok(())
    });
}

// ---------------------------------------------------------------- every export

const FCAP: u64 = 24;

#[derive(Clone, Debug)]
enum NameArg {
    Null,
    /// A valid name of this test's own (a fresh, unused one).
    Fresh,
    /// The fixture's name.
    Fixture,
    Bytes(Vec<u8>),
}

fn name_arg() -> impl Strategy<Value = NameArg> {
    let alphabet: Vec<u8> = (b'a'..=b'z').chain(b'0'..=b'9').chain(*b"._-").collect();
    let alpha = alphabet.clone();
    prop_oneof![
        1 => Just(NameArg::Null),
        2 => Just(NameArg::Fresh),
        1 => Just(NameArg::Fixture),
        3 => prop::collection::vec(1u8..=255, 0..220).prop_map(NameArg::Bytes),
        3 => prop::collection::vec(prop::sample::select(alpha), 0..210).prop_map(NameArg::Bytes),
        1 => prop::sample::select(vec![
            "..", ".", "/", "a/b", "../x", "/dev/shm/x", "x\u{e9}", " ", "\t", "a b",
        ]).prop_map(|s| NameArg::Bytes(s.as_bytes().to_vec())),
    ]
}

fn valid_name(b: &[u8]) -> bool {
    !b.is_empty()
        && b.len() <= 200
        && b[0] != b'.'
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
}

#[derive(Clone, Debug)]
enum Call {
    Init {
        name: NameArg,
        options: Option<(u64, u32, u32)>,
        null_out: bool,
    },
    Get {
        name: NameArg,
        null_out: bool,
    },
    Unlink {
        name: NameArg,
    },
    GetBytes {
        buf_len: usize,
        null_buf: bool,
        null_len: bool,
        null_ver: bool,
    },
    GetString {
        buf_len: usize,
        null_buf: bool,
        null_len: bool,
    },
    SetBytes {
        data: Vec<u8>,
        null_data: bool,
        flags: u32,
        null_ver: bool,
    },
    SetString {
        data: Vec<u8>,
        null: bool,
        notify: bool,
    },
    Cas {
        delta: i64,
        data: Vec<u8>,
        null_data: bool,
        flags: u32,
    },
    Notify,
    Wait {
        seen: Option<i64>,
        timeout: i64,
    },
    Info {
        null_out: bool,
    },
    NullHandle(u8),
    StatusStr(i32),
    LastError {
        buf_len: usize,
        null: bool,
    },
}

fn flags() -> impl Strategy<Value = u32> {
    prop_oneof![4 => Just(0u32), 4 => Just(1u32), 1 => Just(2u32), 1 => any::<u32>()]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..=FCAP as usize),
        1 => prop::collection::vec(any::<u8>(), FCAP as usize..FCAP as usize + 16),
    ]
}

fn capacity() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        1u64..=4096,
        (ffi::SHMIFACE_MAX_CAPACITY + 1)..=u64::MAX,
        Just(u64::MAX)
    ]
}

fn mode() -> impl Strategy<Value = u32> {
    prop_oneof![3 => Just(0u32), 3 => 0u32..=0o777, 1 => any::<u32>()]
}

fn call() -> impl Strategy<Value = Call> {
    // NULL for a required pointer is common, but not so common that the
    // calls behind it are rarely reached.
    let null = || prop::bool::weighted(0.2);
    prop_oneof![
        (
            name_arg(),
            prop::option::of((capacity(), mode(), flags())),
            null()
        )
            .prop_map(|(name, options, null_out)| Call::Init {
                name,
                options,
                null_out
            }),
        (name_arg(), null()).prop_map(|(name, null_out)| Call::Get { name, null_out }),
        name_arg().prop_map(|name| Call::Unlink { name }),
        (
            0usize..=FCAP as usize + 2,
            null(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(buf_len, null_buf, null_len, null_ver)| Call::GetBytes {
                buf_len,
                null_buf,
                null_len,
                null_ver
            }),
        (0usize..=FCAP as usize + 2, null(), any::<bool>()).prop_map(
            |(buf_len, null_buf, null_len)| {
                Call::GetString {
                    buf_len,
                    null_buf,
                    null_len,
                }
            }
        ),
        (bytes(), null(), flags(), any::<bool>()).prop_map(|(data, null_data, flags, null_ver)| {
            Call::SetBytes {
                data,
                null_data,
                flags,
                null_ver,
            }
        }),
        (
            prop::collection::vec(1u8..=255, 0..FCAP as usize + 8),
            null(),
            any::<bool>()
        )
            .prop_map(|(data, null, notify)| Call::SetString { data, null, notify }),
        (-2i64..=2, bytes(), null(), flags()).prop_map(|(delta, data, null_data, flags)| {
            Call::Cas {
                delta,
                data,
                null_data,
                flags,
            }
        }),
        Just(Call::Notify),
        (
            prop::option::of(-1i64..=1),
            prop_oneof![Just(0i64), Just(-2), Just(i64::MIN), i64::MIN..-1]
        )
            .prop_map(|(seen, timeout)| Call::Wait { seen, timeout }),
        null().prop_map(|null_out| Call::Info { null_out }),
        (0u8..8).prop_map(Call::NullHandle),
        any::<i32>().prop_map(Call::StatusStr),
        (0usize..300, any::<bool>()).prop_map(|(buf_len, null)| Call::LastError { buf_len, null }),
    ]
}

struct Model {
    value: Vec<u8>,
    version: u64,
    count: u64,
    cursor: u64,
}

fn check_detail(status: i32, function: &str) -> Result<(), TestCaseError> {
    prop_assert_ne!(
        status,
        ffi::SHMIFACE_ERR_PANIC,
        "{} panicked: {}",
        function,
        reliability_support::last_error()
    );
    if status != ffi::SHMIFACE_OK {
        let detail = reliability_support::last_error();
        prop_assert!(
            detail.starts_with(&format!("{function}: ")) && detail.len() > function.len() + 2,
            "{} failed with {} but the detail is {:?}",
            function,
            status,
            detail
        );
    }
    Ok(())
}

const SENTINEL: *mut shmiface_segment = 0x5e47 as *mut shmiface_segment;

fn name_bytes(n: &NameArg, fixture: &str) -> Option<CString> {
    match n {
        NameArg::Null => None,
        NameArg::Fresh => Some(CString::new(unique("fz-fresh")).unwrap()),
        NameArg::Fixture => Some(CString::new(fixture).unwrap()),
        // A random name that happens to be valid is replaced by one of our
        // own, so the fuzzer never touches another program's segments.
        NameArg::Bytes(b) if valid_name(b) => Some(CString::new(unique("fz-valid")).unwrap()),
        NameArg::Bytes(b) => Some(CString::new(b.clone()).unwrap()),
    }
}

fn expect(got: i32, want: i32, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        got,
        want,
        "{}: got {}, expected {} ({})",
        what,
        got,
        want,
        reliability_support::last_error()
    );
    Ok(())
}

fn run_call(
    c: &Call,
    seg: *mut shmiface_segment,
    fixture: &str,
    m: &mut Model,
) -> Result<(), TestCaseError> {
    use ffi::*;
    // SAFETY (for every unsafe block below): `seg` is a live handle; every
    // other pointer is NULL or points to a live local of the stated size.
    match c {
        Call::Init {
            name,
            options,
            null_out,
        } => {
            let n = name_bytes(name, fixture);
            let opts = options.map(|(capacity, mode, flags)| shmiface_options {
                capacity,
                mode,
                flags,
            });
            let mut out = SENTINEL;
            let st = unsafe {
                shmiface_init_instance(
                    n.as_ref().map_or(std::ptr::null(), |n| n.as_ptr()),
                    opts.as_ref().map_or(std::ptr::null(), |o| o as *const _),
                    if *null_out {
                        std::ptr::null_mut()
                    } else {
                        &mut out
                    },
                )
            };
            let want = match (&n, name) {
                (None, _) => SHMIFACE_ERR_NULL_ARGUMENT,
                (Some(b), _) if !valid_name(b.as_bytes()) => SHMIFACE_ERR_INVALID_NAME,
                _ if *null_out => SHMIFACE_ERR_NULL_ARGUMENT,
                _ => match opts {
                    Some(o)
                        if o.flags & !1 != 0
                            || o.capacity > SHMIFACE_MAX_CAPACITY
                            || o.mode & !0o777 != 0 =>
                    {
                        SHMIFACE_ERR_INVALID_ARGUMENT
                    }
                    _ if matches!(name, NameArg::Fixture) => SHMIFACE_ERR_EXISTS,
                    _ => SHMIFACE_OK,
                },
            };
            expect(st, want, "init_instance")?;
            check_detail(st, "shmiface_init_instance")?;
            if st == SHMIFACE_OK {
                let mut info = shmiface_info::default();
                unsafe {
                    expect(
                        shmiface_get_info(out, &mut info),
                        SHMIFACE_OK,
                        "info of a new segment",
                    )?;
                    let o = opts.unwrap_or_default();
                    prop_assert_eq!(
                        info.capacity,
                        if o.capacity == 0 { 128 } else { o.capacity }
                    );
                    prop_assert_eq!(info.mode, if o.mode == 0 { 0o600 } else { o.mode });
                    prop_assert!(info.is_owner && info.version == 0 && info.length == 0);
                    shmiface_destroy(out);
                }
                // Persistent ones stay: remove them.
                unsafe { shmiface_unlink(n.as_ref().unwrap().as_ptr()) };
            } else if !*null_out {
                prop_assert_eq!(out, SENTINEL, "init_instance wrote *out on failure");
            }
        }
        Call::Get { name, null_out } => {
            let n = name_bytes(name, fixture);
            let mut out = SENTINEL;
            let st = unsafe {
                shmiface_get_instance(
                    n.as_ref().map_or(std::ptr::null(), |n| n.as_ptr()),
                    if *null_out {
                        std::ptr::null_mut()
                    } else {
                        &mut out
                    },
                )
            };
            let want = match (&n, name) {
                (None, _) => SHMIFACE_ERR_NULL_ARGUMENT,
                (Some(b), _) if !valid_name(b.as_bytes()) => SHMIFACE_ERR_INVALID_NAME,
                _ if *null_out => SHMIFACE_ERR_NULL_ARGUMENT,
                (_, NameArg::Fixture) => SHMIFACE_OK,
                _ => SHMIFACE_ERR_NOT_FOUND,
            };
            expect(st, want, "get_instance")?;
            check_detail(st, "shmiface_get_instance")?;
            if st == SHMIFACE_OK {
                unsafe { shmiface_destroy(out) };
            } else if !*null_out {
                prop_assert_eq!(out, SENTINEL);
            }
        }
        Call::Unlink { name } => {
            if matches!(name, NameArg::Fixture) {
                return Ok(());
            }
            let n = name_bytes(name, fixture);
            let st =
                unsafe { shmiface_unlink(n.as_ref().map_or(std::ptr::null(), |n| n.as_ptr())) };
            let want = match &n {
                None => SHMIFACE_ERR_NULL_ARGUMENT,
                Some(b) if !valid_name(b.as_bytes()) => SHMIFACE_ERR_INVALID_NAME,
                _ => SHMIFACE_ERR_NOT_FOUND,
            };
            expect(st, want, "unlink")?;
            check_detail(st, "shmiface_unlink")?;
        }
        Call::GetBytes {
            buf_len,
            null_buf,
            null_len,
            null_ver,
        } => {
            let mut buf = vec![0xeeu8; *buf_len];
            let (mut len, mut ver) = (usize::MAX, u64::MAX);
            let st = unsafe {
                shmiface_get_bytes(
                    seg,
                    if *null_buf {
                        std::ptr::null_mut()
                    } else {
                        buf.as_mut_ptr()
                    },
                    *buf_len,
                    if *null_len {
                        std::ptr::null_mut()
                    } else {
                        &mut len
                    },
                    if *null_ver {
                        std::ptr::null_mut()
                    } else {
                        &mut ver
                    },
                )
            };
            let want = if *null_buf && *buf_len > 0 {
                SHMIFACE_ERR_NULL_ARGUMENT
            } else if *buf_len < m.value.len() {
                SHMIFACE_ERR_BUFFER_TOO_SMALL
            } else {
                SHMIFACE_OK
            };
            expect(st, want, "get_bytes")?;
            check_detail(st, "shmiface_get_bytes")?;
            match st {
                SHMIFACE_OK => {
                    prop_assert_eq!(&buf[..m.value.len()], &m.value[..]);
                    prop_assert!(
                        buf[m.value.len()..].iter().all(|&b| b == 0xee),
                        "wrote past the value"
                    );
                    if !*null_len {
                        prop_assert_eq!(len, m.value.len());
                    }
                    if !*null_ver {
                        prop_assert_eq!(ver, m.version);
                    }
                }
                SHMIFACE_ERR_BUFFER_TOO_SMALL => {
                    if !*null_len {
                        prop_assert_eq!(len, m.value.len());
                    }
                    prop_assert_eq!(ver, u64::MAX);
                }
                _ => prop_assert!(len == usize::MAX && ver == u64::MAX),
            }
        }
        Call::GetString {
            buf_len,
            null_buf,
            null_len,
        } => {
            let mut buf = vec![0xeeu8; *buf_len];
            let mut len = usize::MAX;
            let st = unsafe {
                shmiface_get_string(
                    seg,
                    if *null_buf {
                        std::ptr::null_mut()
                    } else {
                        buf.as_mut_ptr() as *mut c_char
                    },
                    *buf_len,
                    if *null_len {
                        std::ptr::null_mut()
                    } else {
                        &mut len
                    },
                )
            };
            let want = if *null_buf && *buf_len > 0 {
                SHMIFACE_ERR_NULL_ARGUMENT
            } else if *buf_len < m.value.len() + 1 {
                SHMIFACE_ERR_BUFFER_TOO_SMALL
            } else {
                SHMIFACE_OK
            };
            expect(st, want, "get_string")?;
            check_detail(st, "shmiface_get_string")?;
            match st {
                SHMIFACE_OK => {
                    prop_assert_eq!(&buf[..m.value.len()], &m.value[..]);
                    prop_assert_eq!(buf[m.value.len()], 0);
                    if !*null_len {
                        prop_assert_eq!(len, m.value.len());
                    }
                }
                SHMIFACE_ERR_BUFFER_TOO_SMALL => {
                    if !*null_len {
                        prop_assert_eq!(len, m.value.len());
                    }
                }
                _ => prop_assert_eq!(len, usize::MAX),
            }
        }
        Call::SetBytes {
            data,
            null_data,
            flags,
            null_ver,
        } => {
            let mut ver = u64::MAX;
            let st = unsafe {
                shmiface_set_bytes(
                    seg,
                    if *null_data {
                        std::ptr::null()
                    } else {
                        data.as_ptr()
                    },
                    data.len(),
                    *flags,
                    if *null_ver {
                        std::ptr::null_mut()
                    } else {
                        &mut ver
                    },
                )
            };
            let want = if *null_data && !data.is_empty() {
                SHMIFACE_ERR_NULL_ARGUMENT
            } else if flags & !1 != 0 {
                SHMIFACE_ERR_INVALID_ARGUMENT
            } else if data.len() as u64 > FCAP {
                SHMIFACE_ERR_TOO_LARGE
            } else {
                SHMIFACE_OK
            };
            expect(st, want, "set_bytes")?;
            check_detail(st, "shmiface_set_bytes")?;
            if st == SHMIFACE_OK {
                m.value = data.clone();
                m.version += 1;
                m.count += u64::from(flags & 1);
                if !*null_ver {
                    prop_assert_eq!(ver, m.version);
                }
            } else {
                prop_assert_eq!(ver, u64::MAX);
            }
        }
        Call::SetString { data, null, notify } => {
            let s = CString::new(data.clone()).unwrap();
            let p = if *null { std::ptr::null() } else { s.as_ptr() };
            let (st, f) = unsafe {
                if *notify {
                    (
                        shmiface_set_string_notify(seg, p),
                        "shmiface_set_string_notify",
                    )
                } else {
                    (shmiface_set_string(seg, p), "shmiface_set_string")
                }
            };
            let want = if *null {
                SHMIFACE_ERR_NULL_ARGUMENT
            } else if data.len() as u64 > FCAP {
                SHMIFACE_ERR_TOO_LARGE
            } else {
                SHMIFACE_OK
            };
            expect(st, want, f)?;
            check_detail(st, f)?;
            if st == SHMIFACE_OK {
                m.value = data.clone();
                m.version += 1;
                m.count += u64::from(*notify);
            }
        }
        Call::Cas {
            delta,
            data,
            null_data,
            flags,
        } => {
            let expected = m.version.wrapping_add_signed(*delta);
            let mut ver = u64::MAX;
            let st = unsafe {
                shmiface_compare_and_set(
                    seg,
                    expected,
                    if *null_data {
                        std::ptr::null()
                    } else {
                        data.as_ptr()
                    },
                    data.len(),
                    *flags,
                    &mut ver,
                )
            };
            let want = if *null_data && !data.is_empty() {
                SHMIFACE_ERR_NULL_ARGUMENT
            } else if flags & !1 != 0 {
                SHMIFACE_ERR_INVALID_ARGUMENT
            } else if data.len() as u64 > FCAP {
                SHMIFACE_ERR_TOO_LARGE
            } else if expected != m.version {
                SHMIFACE_ERR_CONFLICT
            } else {
                SHMIFACE_OK
            };
            expect(st, want, "compare_and_set")?;
            check_detail(st, "shmiface_compare_and_set")?;
            if st == SHMIFACE_OK {
                m.value = data.clone();
                m.version += 1;
                m.count += u64::from(flags & 1);
                prop_assert_eq!(ver, m.version);
            } else {
                prop_assert_eq!(ver, u64::MAX);
            }
        }
        Call::Notify => {
            expect(unsafe { shmiface_notify(seg) }, SHMIFACE_OK, "notify")?;
            m.count += 1;
        }
        Call::Wait { seen, timeout } => {
            // Only waits that cannot block: a poll, an invalid timeout, or a
            // cursor already behind the count with -1.
            let mut cursor = seen.map(|d| m.count.wrapping_add_signed(d));
            let (timeout, behind) = match cursor {
                Some(c) if c != m.count && *timeout == 0 => (-1, true),
                Some(c) => (*timeout, c != m.count),
                None => (*timeout, m.cursor != m.count),
            };
            let before = cursor;
            let st = unsafe {
                shmiface_wait(
                    seg,
                    cursor
                        .as_mut()
                        .map_or(std::ptr::null_mut(), |c| c as *mut u64),
                    timeout,
                )
            };
            let want = if timeout < -1 {
                SHMIFACE_ERR_INVALID_ARGUMENT
            } else if behind {
                SHMIFACE_OK
            } else {
                SHMIFACE_ERR_TIMEOUT
            };
            expect(st, want, "wait")?;
            check_detail(st, "shmiface_wait")?;
            if st == SHMIFACE_OK {
                match cursor {
                    Some(c) => prop_assert_eq!(c, m.count),
                    None => m.cursor = m.count,
                }
            } else {
                prop_assert_eq!(cursor, before, "wait wrote *seen on failure");
            }
        }
        Call::Info { null_out } => {
            let mut info = shmiface_info {
                capacity: 77,
                ..Default::default()
            };
            let st = unsafe {
                shmiface_get_info(
                    seg,
                    if *null_out {
                        std::ptr::null_mut()
                    } else {
                        &mut info
                    },
                )
            };
            expect(
                st,
                if *null_out {
                    SHMIFACE_ERR_NULL_ARGUMENT
                } else {
                    SHMIFACE_OK
                },
                "get_info",
            )?;
            check_detail(st, "shmiface_get_info")?;
            if st == SHMIFACE_OK {
                prop_assert_eq!(info.capacity, FCAP);
                prop_assert_eq!(info.length, m.value.len() as u64);
                prop_assert_eq!(info.version, m.version);
                prop_assert_eq!(info.notify_count, m.count);
                prop_assert!(info.is_owner && info.owner_alive && !info.destroyed);
            }
        }
        Call::NullHandle(which) => {
            let null = std::ptr::null_mut();
            let mut buf = [0u8; 8];
            let mut info = shmiface_info::default();
            let (st, f) = unsafe {
                match which {
                    0 => (
                        shmiface_get_bytes(
                            null,
                            buf.as_mut_ptr(),
                            8,
                            std::ptr::null_mut(),
                            std::ptr::null_mut(),
                        ),
                        "shmiface_get_bytes",
                    ),
                    1 => (
                        shmiface_get_string(
                            null,
                            buf.as_mut_ptr() as *mut c_char,
                            8,
                            std::ptr::null_mut(),
                        ),
                        "shmiface_get_string",
                    ),
                    2 => (
                        shmiface_set_bytes(null, buf.as_ptr(), 8, 0, std::ptr::null_mut()),
                        "shmiface_set_bytes",
                    ),
                    3 => (
                        shmiface_set_string(null, c"x".as_ptr()),
                        "shmiface_set_string",
                    ),
                    4 => (
                        shmiface_compare_and_set(null, 0, buf.as_ptr(), 8, 0, std::ptr::null_mut()),
                        "shmiface_compare_and_set",
                    ),
                    5 => (shmiface_notify(null), "shmiface_notify"),
                    6 => (
                        shmiface_wait(null, std::ptr::null_mut(), -1),
                        "shmiface_wait",
                    ),
                    _ => (shmiface_get_info(null, &mut info), "shmiface_get_info"),
                }
            };
            expect(st, SHMIFACE_ERR_NULL_ARGUMENT, f)?;
            check_detail(st, f)?;
            let st = unsafe { shmiface_destroy(null) };
            prop_assert_eq!(st, SHMIFACE_OK);
        }
        Call::StatusStr(s) => {
            let p = shmiface_status_str(*s);
            prop_assert!(!p.is_null());
            // SAFETY: status_str returns a static NUL-terminated string.
            let text = unsafe { CStr::from_ptr(p) };
            prop_assert!(!text.to_bytes().is_empty());
        }
        Call::LastError { buf_len, null } => {
            let full = unsafe { shmiface_last_error(std::ptr::null_mut(), 0) };
            let mut buf = vec![0xeeu8; *buf_len];
            let got = unsafe {
                shmiface_last_error(
                    if *null {
                        std::ptr::null_mut()
                    } else {
                        buf.as_mut_ptr() as *mut c_char
                    },
                    *buf_len,
                )
            };
            prop_assert_eq!(got, full);
            if !*null && *buf_len > 0 {
                let n = full.min(buf_len - 1);
                prop_assert_eq!(buf[n], 0, "not NUL-terminated");
            }
        }
    }
    Ok(())
}

#[test]
fn every_export() {
    let strategy = prop::collection::vec(call(), 1..24);
    fuzz("every export", 2000, strategy, |calls| {
        let name = unique("fz-api");
        let _cleanup = Cleanup(name.clone());
        let n = CString::new(name.clone()).unwrap();
        let opts = shmiface_options {
            capacity: FCAP,
            mode: 0o600,
            flags: 0,
        };
        let mut seg = std::ptr::null_mut();
        // SAFETY: valid pointers; the handle is destroyed below.
        let st = unsafe { ffi::shmiface_init_instance(n.as_ptr(), &opts, &mut seg) };
        prop_assert_eq!(st, 0);
        let mut model = Model {
            value: Vec::new(),
            version: 0,
            count: 0,
            cursor: 0,
        };
        let result = calls
            .iter()
            .try_for_each(|c| run_call(c, seg, &name, &mut model));
        // SAFETY: the live handle, released once.
        let st = unsafe { ffi::shmiface_destroy(seg) };
        prop_assert_eq!(st, 0);
        result
    });
}
