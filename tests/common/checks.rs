//! What every multi-process test file shares (tests/common and
//! tests/reliability_support both re-export it): the hang guard, and
//! self-checking values that show any mix of two writes.

use std::time::Duration;

/// Hang guard: anything that takes this long has hung (never a timing assertion).
pub const HANG: Duration = Duration::from_secs(60);

/// Runs `f` on another thread; fails the test if it does not finish in time.
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("{what} did not finish within {HANG:?}: a hang"))
}

/// A self-checking value: 8 bytes of tag (writer << 48 | counter), then
/// bytes derived from the tag and their index, with a length derived from
/// the counter, so any mix of two writes (or a wrong length) shows.
pub fn pattern(writer: u64, counter: u64, capacity: usize) -> Vec<u8> {
    let tag = (writer << 48) | (counter & ((1 << 48) - 1));
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
