//! What an importer has written into a local segment, kept in a small file
//! beside the segments (default /dev/shm/.shmiface-bridge/NAME, so that it
//! lives and dies with them) and mapped shared, so that a bridge killed at
//! any instant leaves it exact: a restarted bridge writes no version twice,
//! and its exporter knows which local versions are its own imports (never
//! to be sent back: no echo).
//!
//! Words, u64 each: magic, epoch of the source, last source version fully
//! written, source version being written (0: none), the local version that
//! write makes, ring length N, then a ring of N: slot `v % N` holds `v` if
//! local version `v` was written by an importer. N is the segment's
//! history, so every kept version has its own slot.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};

const MAGIC: u64 = u64::from_le_bytes(*b"shmbprog");
const HEADER: usize = 8;
const W_MAGIC: usize = 0;
const W_EPOCH: usize = 1;
const W_LAST: usize = 2;
const W_PENDING: usize = 3;
const W_PENDING_LOCAL: usize = 4;
const W_RING: usize = 5;

pub struct Progress {
    words: NonNull<AtomicU64>,
    len: usize,
    path: PathBuf,
}

// SAFETY: the mapping is only ever accessed through atomics, and it stays
// mapped until drop, which needs the last reference.
unsafe impl Send for Progress {}
// SAFETY: as above: every access is an atomic operation.
unsafe impl Sync for Progress {}

impl Progress {
    fn open(path: PathBuf, ring: u64) -> io::Result<Progress> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let existing = file.metadata()?.len();
        let len = HEADER + ring as usize;
        let bytes = len * 8;
        let fresh = existing != bytes as u64;
        if fresh {
            // A file of another size is of another segment geometry: start over.
            file.set_len(0)?;
            file.set_len(bytes as u64)?;
        }
        let words = map(&file, bytes)?;
        let p = Progress { words, len, path };
        if fresh || p.w(W_MAGIC).load(SeqCst) != MAGIC || p.w(W_RING).load(SeqCst) != ring {
            for i in 0..len {
                p.w(i).store(0, SeqCst);
            }
            p.w(W_RING).store(ring, SeqCst);
            p.w(W_MAGIC).store(MAGIC, SeqCst);
        }
        Ok(p)
    }

    fn w(&self, i: usize) -> &AtomicU64 {
        assert!(i < self.len);
        // SAFETY: `i` is inside the mapping of `len` words, which lives as
        // long as `self`; the file is 8-byte aligned (page-aligned mapping).
        unsafe { &*self.words.as_ptr().add(i) }
    }

    fn slot(&self, local: u64) -> &AtomicU64 {
        let n = self.w(W_RING).load(SeqCst).max(1);
        self.w(HEADER + (local % n) as usize)
    }

    /// Settles a write a killed bridge left half done: it happened if the
    /// segment has reached the version it was to make.
    pub fn resolve(&self, local_current: u64) {
        let pending = self.w(W_PENDING).load(SeqCst);
        if pending == 0 {
            return;
        }
        let local = self.w(W_PENDING_LOCAL).load(SeqCst);
        if local_current >= local {
            self.w(W_LAST).store(pending, SeqCst);
        } else {
            let _ = self.slot(local).compare_exchange(local, 0, SeqCst, SeqCst);
        }
        self.w(W_PENDING).store(0, SeqCst);
    }

    pub fn epoch(&self) -> u64 {
        self.w(W_EPOCH).load(SeqCst)
    }

    pub fn last(&self) -> u64 {
        self.w(W_LAST).load(SeqCst)
    }

    /// A new source (another epoch): nothing of it written yet.
    pub fn restart(&self, epoch: u64) {
        self.w(W_LAST).store(0, SeqCst);
        self.w(W_EPOCH).store(epoch, SeqCst);
    }

    /// Before writing source `version` as local version `local`: marked
    /// ours first, so an exporter never sees it unmarked.
    pub fn begin(&self, version: u64, local: u64) {
        self.slot(local).store(local, SeqCst);
        self.w(W_PENDING_LOCAL).store(local, SeqCst);
        self.w(W_PENDING).store(version, SeqCst);
    }

    pub fn commit(&self, version: u64) {
        self.w(W_LAST).store(version, SeqCst);
        self.w(W_PENDING).store(0, SeqCst);
    }

    /// Source `version` is refused, never to be written: later ones follow on.
    pub fn skip(&self, version: u64) {
        self.w(W_LAST).fetch_max(version, SeqCst);
    }

    /// The write did not happen (another writer got in first).
    pub fn abort(&self, local: u64) {
        let _ = self.slot(local).compare_exchange(local, 0, SeqCst, SeqCst);
        self.w(W_PENDING).store(0, SeqCst);
    }

    /// Whether local version `local` is an import of this bridge's.
    pub fn wrote(&self, local: u64) -> bool {
        local != 0 && self.slot(local).load(SeqCst) == local
    }

    pub fn remove(&self) {
        let _ = fs::remove_file(&self.path);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `map` with this length and no
        // reference into it outlives `self`.
        let _ = unsafe { munmap(self.words.cast(), self.len * 8) };
    }
}

fn map(file: &File, bytes: usize) -> io::Result<NonNull<AtomicU64>> {
    let len = NonZeroUsize::new(bytes).expect("a header is never empty");
    // SAFETY: a fresh shared mapping of a file this process keeps the size
    // of; nothing else in this process maps it, and other processes see
    // it only through atomics too.
    let ptr = unsafe {
        mmap(
            None,
            len,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
            file,
            0,
        )
    }
    .map_err(io::Error::from)?;
    Ok(ptr.cast())
}

/// Every name's progress, shared by the importers (who write it) and the
/// exporters (who skip what it marks).
pub struct Registry {
    dir: PathBuf,
    open: Mutex<HashMap<String, Arc<Progress>>>,
    /// Bumped at every change of `open`, so an exporter can keep what it
    /// looked up until then without taking the lock for every value.
    generation: AtomicU64,
}

impl Registry {
    pub fn new(dir: &Path) -> io::Result<Registry> {
        fs::create_dir_all(dir)?;
        let registry = Registry {
            dir: dir.to_owned(),
            open: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        };
        // A killed bridge's marks, for the exporters before any import.
        for entry in fs::read_dir(dir)?.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let words = entry.metadata().map(|m| m.len() / 8).unwrap_or(0);
            if words > HEADER as u64 {
                if let Ok(p) = Progress::open(entry.path(), words - HEADER as u64) {
                    registry.lock().insert(name, Arc::new(p));
                }
            }
        }
        Ok(registry)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Progress>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, name: &str) -> Option<Arc<Progress>> {
        self.lock().get(name).cloned()
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(SeqCst)
    }

    /// The progress of `name`, with a ring of `ring` slots.
    pub fn open(&self, name: &str, ring: u32) -> io::Result<Arc<Progress>> {
        let mut open = self.lock();
        if let Some(p) = open.get(name) {
            if p.w(W_RING).load(SeqCst) == u64::from(ring) {
                return Ok(p.clone());
            }
        }
        let p = Arc::new(Progress::open(self.dir.join(name), u64::from(ring))?);
        open.insert(name.to_owned(), p.clone());
        self.generation.fetch_add(1, SeqCst);
        Ok(p)
    }

    pub fn forget(&self, name: &str) {
        if let Some(p) = self.lock().remove(name) {
            p.remove();
        }
        self.generation.fetch_add(1, SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("shmb-progress-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_half_done_write_is_settled_by_the_segment() {
        let d = dir("settle");
        let r = Registry::new(&d).unwrap();
        let p = r.open("x", 4).unwrap();
        p.restart(11);
        p.begin(5, 9);
        p.commit(5);
        p.begin(6, 10);
        drop(p);
        drop(r);
        // As after a kill: reopened from the file alone.
        let r = Registry::new(&d).unwrap();
        let p = r.get("x").unwrap();
        assert!(p.wrote(9) && p.wrote(10) && !p.wrote(8));
        p.resolve(9);
        assert_eq!((p.epoch(), p.last()), (11, 5));
        assert!(!p.wrote(10));
        p.begin(6, 10);
        p.resolve(10);
        assert_eq!(p.last(), 6);
        fs::remove_dir_all(&d).unwrap();
    }
}
