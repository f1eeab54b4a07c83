//! The safe Rust API: create, attach, take over and destroy a segment, and
//! everything a handle can do. The C ABI in `ffi.rs` and the `shmiface`
//! command are thin layers over this file.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};
use crate::layout::{self, FLAG_PERSISTENT, MAGIC};
use crate::mapping::{self, Found, Geometry, Mapping};
use crate::name::Name;
use crate::registry::{self, Locked};
use crate::sync::{record_lock, robust_mutex};
use crate::value::{self, Snapshot};
use crate::{events, shm};

/// How a segment is created. `Default` gives capacity 128, mode 0600.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub capacity: u64,
    pub mode: u32,
    pub persistent: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            capacity: layout::DEFAULT_CAPACITY,
            mode: 0o600,
            persistent: false,
        }
    }
}

impl Options {
    fn check(&self) -> Result<()> {
        if self.capacity == 0 || self.capacity > layout::MAX_CAPACITY {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "capacity {} is outside 1..={}",
                    self.capacity,
                    layout::MAX_CAPACITY
                ),
            ));
        }
        if self.mode & !0o777 != 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("mode {:#o} has bits outside 0777", self.mode),
            ));
        }
        Ok(())
    }
}

/// A monitoring snapshot of a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    pub capacity: u64,
    pub length: u64,
    pub version: u64,
    pub notify_count: u64,
    pub waiters: u32,
    pub mode: u32,
    pub owner_pid: i32,
    pub owner_alive: bool,
    pub is_owner: bool,
    pub destroyed: bool,
    pub persistent: bool,
    pub read_only: bool,
    pub layout_version: u32,
    pub created_unix_ns: u64,
    pub mapping_size: u64,
    /// Times a writer died holding the writer lock and the next one recovered it.
    pub lock_recoveries: u32,
}

/// A handle to a segment. Handles of one process share one mapping.
pub struct Segment {
    map: Arc<Mapping>,
    is_owner: bool,
    /// The notification count this handle last saw, for waits with no cursor.
    cursor: AtomicU64,
}

impl Segment {
    /// Creates `name` and becomes its owner, taking over a segment whose
    /// owner died. `Exists` if its owner is alive.
    pub fn create(name: &str, options: &Options) -> Result<Segment> {
        let name = Name::new(name)?;
        options.check()?;
        let mut registry = registry::lock();
        // Each pass either finishes, or removes a dead creation or a segment
        // of another capacity so the next pass can create the name afresh.
        for _ in 0..8 {
            match shm::create_exclusive(&name, options.mode) {
                Ok(fd) => match create_fresh(&mut registry, &name, fd, options)? {
                    Some(segment) => return Ok(segment),
                    None => continue,
                },
                Err(e) if e.kind() == ErrorKind::Exists => {}
                Err(e) => return Err(e),
            }
            if let Some(segment) = take_over(&mut registry, &name, options)? {
                return Ok(segment);
            }
        }
        Err(Error::new(
            ErrorKind::Exists,
            format!(
                "segment {} kept being re-created by other processes",
                name.as_str()
            ),
        ))
    }

    /// Attaches to an existing segment (read-only if the mode allows only
    /// reading), waiting up to 1 s for one still being initialised.
    pub fn attach(name: &str) -> Result<Segment> {
        Segment::attach_within(name, mapping::READY_TIMEOUT)
    }

    /// As [`Segment::attach`], waiting at most `ready_timeout` for a segment
    /// still being initialised (`NotReady` after that).
    pub fn attach_within(name: &str, ready_timeout: Duration) -> Result<Segment> {
        let name = Name::new(name)?;
        let mut registry = registry::lock();
        if let Some(map) = registry.find_name(&name) {
            map.not_destroyed()?;
            return Ok(Segment::handle(map, false));
        }
        let (fd, writable) = match shm::open(&name, true) {
            Ok(fd) => (fd, true),
            Err(e) if e.kind() == ErrorKind::Permission => (shm::open(&name, false)?, false),
            Err(e) => return Err(e),
        };
        let geometry = mapping::wait_until_ready(&fd, &name, ready_timeout)?;
        let map = map_or_reuse(&mut registry, name, fd, geometry, writable)?;
        map.not_destroyed()?;
        Ok(Segment::handle(map, false))
    }

    fn handle(map: Arc<Mapping>, is_owner: bool) -> Segment {
        let cursor = AtomicU64::new(events::count(&map));
        Segment {
            map,
            is_owner,
            cursor,
        }
    }

    pub fn name(&self) -> &str {
        self.map.name().as_str()
    }

    pub fn capacity(&self) -> u64 {
        self.map.geometry().capacity
    }

    pub fn is_owner(&self) -> bool {
        self.is_owner
    }

    /// Copies the value into `buf`; `BufferTooSmall` (with the length) if
    /// it does not fit.
    #[inline]
    pub fn read_into(&self, buf: &mut [u8]) -> Result<Snapshot> {
        value::read(&self.map, Some(buf))
    }

    /// The value's length and version, without copying it.
    pub fn peek(&self) -> Result<Snapshot> {
        value::read(&self.map, None)
    }

    /// The value as a new vector, with its version.
    pub fn read(&self) -> Result<(Vec<u8>, u64)> {
        let mut buf = vec![0u8; self.peek()?.len];
        loop {
            match self.read_into(&mut buf) {
                Ok(s) => {
                    buf.truncate(s.len);
                    return Ok((buf, s.version));
                }
                Err(e) if e.kind() == ErrorKind::BufferTooSmall => {
                    buf.resize(e.value_len().unwrap_or(0), 0);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Replaces the value; with `notify`, then wakes every waiter. Returns the new version.
    pub fn write(&self, data: &[u8], notify: bool) -> Result<u64> {
        let version = value::write(&self.map, data, None)?;
        if notify {
            events::notify(&self.map)?;
        }
        Ok(version)
    }

    /// Replaces the value only if its version is `expected`, else `Conflict`.
    pub fn compare_and_set(&self, expected: u64, data: &[u8], notify: bool) -> Result<u64> {
        let version = value::write(&self.map, data, Some(expected))?;
        if notify {
            events::notify(&self.map)?;
        }
        Ok(version)
    }

    pub fn notify(&self) -> Result<()> {
        events::notify(&self.map)
    }

    /// Waits until the notification count differs from `*seen` (or from this
    /// handle's own cursor when `seen` is None) and stores the new count.
    pub fn wait(&self, seen: Option<&mut u64>, timeout: Option<Duration>) -> Result<()> {
        match seen {
            Some(seen) => events::wait(&self.map, seen, timeout),
            None => {
                let mut seen = self.cursor.load(Ordering::Acquire);
                events::wait(&self.map, &mut seen, timeout)?;
                self.cursor.store(seen, Ordering::Release);
                Ok(())
            }
        }
    }

    /// The notification count now.
    pub fn notify_count(&self) -> u64 {
        events::count(&self.map)
    }

    pub fn info(&self) -> Result<Info> {
        let map = &self.map;
        let header = map.header();
        let destroyed = map.is_destroyed();
        let (length, version) = if destroyed {
            let word = header.published.current.load(Ordering::Acquire);
            (0, layout::published_version(word))
        } else {
            let s = value::read(map, None)?;
            (s.len as u64, s.version)
        };
        let (owner_alive, owner_pid) = map.owner()?;
        let st = shm::fstat(map.fd().as_fd(), map.name())?;
        Ok(Info {
            capacity: map.geometry().capacity,
            length,
            version,
            notify_count: events::count(map),
            waiters: header.events.waiters.load(Ordering::Relaxed),
            mode: st.st_mode & 0o7777,
            owner_pid,
            owner_alive,
            is_owner: self.is_owner,
            destroyed,
            persistent: header.identity.flags.load(Ordering::Relaxed) & FLAG_PERSISTENT != 0,
            read_only: !map.writable(),
            layout_version: header.identity.layout_version,
            created_unix_ns: header.identity.created_unix_ns,
            mapping_size: map.geometry().total,
            lock_recoveries: header.identity.lock_recoveries.load(Ordering::Relaxed),
        })
    }

    /// Releases the handle. The owner of a non-persistent segment marks it
    /// destroyed, wakes every waiter and unlinks the name; the owner of a
    /// persistent one only gives up ownership, so a later create takes it over.
    pub fn destroy(self) -> Result<()> {
        if !self.is_owner || !self.map.owned() {
            return Ok(());
        }
        let map = &self.map;
        let persistent = map.header().identity.flags.load(Ordering::Relaxed) & FLAG_PERSISTENT != 0;
        let mut result = Ok(());
        if !persistent {
            map.header()
                .identity
                .state
                .store(layout::STATE_DESTROYED, Ordering::Release);
            events::mark_destroyed(map);
            if shm::identity_of(map.name()) == Some(map.id()) {
                result = match shm::unlink(map.name()) {
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                    other => other,
                };
            }
        }
        map.set_owned(false);
        record_lock::unlock(map.fd().as_fd(), record_lock::OWNER_BYTE)?;
        result
    }
}

/// Removes a name; existing mappings stay valid.
pub fn unlink(name: &str) -> Result<()> {
    shm::unlink(&Name::new(name)?)
}

fn map_or_reuse(
    registry: &mut Locked,
    name: Name,
    fd: OwnedFd,
    geometry: Geometry,
    writable: bool,
) -> Result<Arc<Mapping>> {
    let st = shm::fstat(fd.as_fd(), &name)?;
    if let Some(existing) = registry.find(shm::object_id(&st)) {
        existing.keep_spare_fd(fd);
        return Ok(existing);
    }
    Ok(registry.insert(Mapping::new(name, fd, geometry, writable)?))
}

/// The object was just made by us (O_EXCL): lock it, size it, fill it in,
/// and publish it as ready. `Ok(None)`: another process removed it before
/// we locked it, so the caller starts again.
fn create_fresh(
    registry: &mut Locked,
    name: &Name,
    fd: OwnedFd,
    options: &Options,
) -> Result<Option<Segment>> {
    let name = name.clone();
    if !record_lock::try_lock(fd.as_fd(), record_lock::OWNER_BYTE, true)? {
        return Err(Error::new(
            ErrorKind::Exists,
            format!(
                "segment {} was taken over by another process while being created",
                name.as_str()
            ),
        ));
    }
    // Between O_EXCL and the lock, a concurrent init_instance can find the
    // object empty and unlocked, take it for a creation that died, remove
    // it and create its own. Owning the removed object would make this call
    // succeed on a segment no one can attach to, so check that the name
    // still leads here now that we hold the lock (a taker removes only what
    // it has locked, so the answer cannot change after this).
    let st = shm::fstat(fd.as_fd(), &name)?;
    if shm::identity_of(&name) != Some(shm::object_id(&st)) {
        return Ok(None);
    }
    let geometry = Geometry::for_capacity(options.capacity);
    if let Err(e) = shm::reserve(fd.as_fd(), geometry.total, &name) {
        let _ = shm::unlink(&name);
        return Err(e);
    }
    let map = match Mapping::new(name.clone(), fd, geometry, true) {
        Ok(map) => map,
        Err(e) => {
            let _ = shm::unlink(&name);
            return Err(e);
        }
    };
    initialise(&map, options)?;
    map.set_owned(true);
    Ok(Some(Segment::handle(registry.insert(map), true)))
}

/// Writes a fresh header and sync state, then publishes the segment. The
/// magic is written first, so that from then on an attacher knows the
/// object for a segment being created (state INITIALISING: it waits, and
/// `init_instance` takes a dead creation over) rather than a foreign object;
/// no other field is trusted until the state, stored last, says READY.
fn initialise(map: &Mapping, options: &Options) -> Result<()> {
    let geometry = map.geometry();
    let header = map.header() as *const layout::Header as *mut layout::Header;
    // SAFETY: the object is new and locked by us; no other process reads
    // anything but the magic and the state until we publish.
    unsafe {
        (*header).identity.magic = MAGIC;
        let id = &mut (*header).identity;
        id.layout_version = layout::LAYOUT_VERSION;
        id.header_size = layout::HEADER_SIZE as u32;
        id.capacity = geometry.capacity;
        id.total_size = geometry.total;
        id.slot_stride = geometry.stride;
        id.created_unix_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        robust_mutex::init(map.mutex())?;
    }
    set_owner_fields(map, options);
    value::init_empty(map);
    std::sync::atomic::fence(Ordering::Release);
    map.header()
        .identity
        .state
        .store(layout::STATE_READY, Ordering::Release);
    Ok(())
}

fn set_owner_fields(map: &Mapping, options: &Options) {
    let id = &map.header().identity;
    id.owner_pid
        .store(std::process::id() as i32, Ordering::Relaxed);
    let flags = if options.persistent {
        FLAG_PERSISTENT
    } else {
        0
    };
    id.flags.store(flags, Ordering::Relaxed);
}

/// The name exists. If its owner is dead, become the owner: in place when
/// the capacity matches (the value survives), else by removing the old
/// object (its attachers see DESTROYED) so the caller creates it afresh
/// (`Ok(None)`).
fn take_over(registry: &mut Locked, name: &Name, options: &Options) -> Result<Option<Segment>> {
    let source = match registry.find_name(name) {
        Some(map) if map.owned() => {
            return Err(Error::new(
                ErrorKind::Exists,
                format!("segment {} is already owned by this process", name.as_str()),
            ))
        }
        Some(map) if !map.writable() => return Err(refuse_read_only(map.fd(), name)),
        Some(map) => Source::Mapped(map),
        None => match shm::open(name, true) {
            Ok(fd) => Source::Opened(fd),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == ErrorKind::Permission => {
                return Err(match shm::open(name, false) {
                    Ok(fd) => refuse_read_only(&fd, name),
                    Err(_) => e,
                })
            }
            Err(e) => return Err(e),
        },
    };
    let fd = source.fd();
    if !record_lock::try_lock(fd.as_fd(), record_lock::OWNER_BYTE, true)? {
        return Err(owner_alive(fd, name));
    }
    let release = |fd: &OwnedFd| record_lock::unlock(fd.as_fd(), record_lock::OWNER_BYTE);
    let found = mapping::inspect(fd, name);
    match found {
        Ok(Found::Ready(geometry)) if geometry.capacity == options.capacity => {
            if let Err(e) = set_mode(fd, name, options.mode) {
                release(fd)?;
                return Err(e);
            }
            let mapped_here = matches!(source, Source::Mapped(_));
            let map = source.into_mapping(registry, name, geometry)?;
            take_over_in_place(&map, options, !mapped_here)?;
            Ok(Some(Segment::handle(map, true)))
        }
        Ok(Found::Ready(geometry) | Found::Destroyed(geometry)) => {
            // Other processes may map the old object: tell them it is gone.
            let old = source.into_mapping(registry, name, geometry)?;
            old.header()
                .identity
                .state
                .store(layout::STATE_DESTROYED, Ordering::Release);
            events::mark_destroyed(&old);
            remove_if_same(name, old.id());
            release(old.fd())?;
            Ok(None)
        }
        Ok(Found::Initialising) => {
            // A creator died before publishing: no one can have attached.
            let st = shm::fstat(fd.as_fd(), name)?;
            remove_if_same(name, shm::object_id(&st));
            release(fd)?;
            Ok(None)
        }
        Ok(Found::Foreign(why)) => {
            release(fd)?;
            Err(Error::new(
                ErrorKind::Incompatible,
                format!(
                    "/dev/shm/{} exists and {why}; remove it (shmiface_unlink) to reuse the name",
                    name.as_str()
                ),
            ))
        }
        Err(e) => {
            release(fd)?;
            Err(e)
        }
    }
}

fn owner_alive(fd: &OwnedFd, name: &Name) -> Error {
    let pid = record_lock::holder(fd.as_fd(), record_lock::OWNER_BYTE)
        .ok()
        .flatten()
        .map_or_else(|| "unknown".to_string(), |p| p.to_string());
    Error::new(
        ErrorKind::Exists,
        format!(
            "segment {} exists and its owner (pid {pid}) is alive",
            name.as_str()
        ),
    )
}

/// This process may only read the object: `Exists` if it has a live owner
/// anyway, else `Permission` (taking it over needs write access).
fn refuse_read_only(fd: &OwnedFd, name: &Name) -> Error {
    match record_lock::holder(fd.as_fd(), record_lock::OWNER_BYTE) {
        Ok(Some(_)) => owner_alive(fd, name),
        _ => Error::new(
            ErrorKind::Permission,
            format!(
                "segment {} has no live owner, and taking it over needs write access this process lacks",
                name.as_str()
            ),
        ),
    }
}

/// The object behind an existing name: already mapped here, or just opened.
enum Source {
    Mapped(Arc<Mapping>),
    Opened(OwnedFd),
}

impl Source {
    fn fd(&self) -> &OwnedFd {
        match self {
            Source::Mapped(map) => map.fd(),
            Source::Opened(fd) => fd,
        }
    }

    fn into_mapping(
        self,
        registry: &mut Locked,
        name: &Name,
        geometry: Geometry,
    ) -> Result<Arc<Mapping>> {
        match self {
            Source::Mapped(map) => Ok(map),
            Source::Opened(fd) => map_or_reuse(registry, name.clone(), fd, geometry, true),
        }
    }
}

/// Resets what a dead owner may have left, when it is safe to.
fn take_over_in_place(map: &Mapping, options: &Options, first_mapping_here: bool) -> Result<()> {
    set_owner_fields(map, options);
    let others = record_lock::holder(map.fd().as_fd(), record_lock::ATTACH_BYTE)?.is_some();
    if first_mapping_here && !others {
        // No other process maps the segment and no other handle of ours
        // existed, so no one holds or waits on the lock and every counted
        // waiter is dead: start both afresh.
        // SAFETY: no thread anywhere can be using the mutex (see above).
        unsafe { robust_mutex::init(map.mutex())? };
        let events = &map.header().events;
        events.sleepers.store(0, Ordering::SeqCst);
        events.waiters.store(0, Ordering::SeqCst);
    }
    map.set_owned(true);
    Ok(())
}

fn set_mode(fd: &OwnedFd, name: &Name, mode: u32) -> Result<()> {
    let st = shm::fstat(fd.as_fd(), name)?;
    if st.st_mode & 0o777 == mode {
        return Ok(());
    }
    nix::sys::stat::fchmod(fd, nix::sys::stat::Mode::from_bits_truncate(mode)).map_err(|e| {
        Error::from_errno(e, format!("setting the mode of /dev/shm/{}", name.as_str()))
    })
}

fn remove_if_same(name: &Name, id: shm::ObjectId) {
    if shm::identity_of(name) == Some(id) {
        let _ = shm::unlink(name);
    }
}
