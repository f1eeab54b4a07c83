//! The safe Rust API: create, attach, take over and destroy a segment, and
//! everything a handle can do. The C ABI in `ffi.rs` and the `shmiface`
//! command are thin layers over this file.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::failpoints::fail_point;
use crate::layout::{self, FLAG_PERSISTENT, MAGIC};
use crate::mapping::{self, Found, Geometry, Mapping};
use crate::name::Name;
use crate::registry::{self, Locked};
use crate::sync::record_lock::{self, OWNER_BYTE};
use crate::value::{self, Snapshot};
use crate::{events, shm};

/// How a segment is created. `Default` gives capacity 128, mode 0600,
/// history 1 (only the current value is kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub capacity: u64,
    pub mode: u32,
    pub persistent: bool,
    /// Values kept readable, 1..=65536.
    pub history: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            capacity: layout::DEFAULT_CAPACITY,
            mode: 0o600,
            persistent: false,
            history: 1,
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
        if self.history == 0 || self.history > layout::MAX_HISTORY {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "history {} is outside 1..={}",
                    self.history,
                    layout::MAX_HISTORY
                ),
            ));
        }
        self.geometry().map(drop)
    }

    fn geometry(&self) -> Result<Geometry> {
        Geometry::new(self.capacity, self.history).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "capacity {} with history {} makes a segment over {} GiB",
                    self.capacity,
                    self.history,
                    layout::MAX_TOTAL >> 30
                ),
            )
        })
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
    /// Values kept readable.
    pub history: u32,
    /// The oldest version still readable; 0 if never set.
    pub oldest_version: u64,
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
        let deadline = Instant::now() + ready_timeout;
        if let Some(map) = registry::lock().find_name(&name) {
            map.not_destroyed()?;
            return Ok(Segment::handle(map, false));
        }
        let (fd, writable) = match shm::open(&name, true) {
            Ok(fd) => (fd, true),
            Err(e) if e.kind() == ErrorKind::Permission => (shm::open(&name, false)?, false),
            Err(e) => return Err(e),
        };
        // Waiting for readiness takes no process-wide lock: other names'
        // creates and attaches go on meanwhile.
        let geometry = mapping::wait_until_ready(&fd, &name, ready_timeout)?;
        let map = map_or_reuse(
            &mut registry::lock(),
            name,
            fd,
            geometry,
            writable,
            deadline,
        )?;
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

    /// Values the segment keeps readable.
    pub fn history(&self) -> u32 {
        self.map.geometry().history
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

    /// The two words a reader may poll to learn, without a call, whether
    /// the value changed since it last read it: the published version of
    /// the current value, and the events word whose
    /// [`layout::SEQ_DESTROYED`] bit the owner's destroy sets. Both live in
    /// this handle's mapping, which stays mapped while the handle lives.
    pub fn probe_words(&self) -> (&AtomicU64, &AtomicU64) {
        let header = self.map.header();
        (&header.published.current, &header.events.seq)
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

    /// The oldest kept value newer than version `after` into `buf` (or, for
    /// [`crate::LATEST`], the current one), waiting up to `timeout` (None:
    /// for ever) for a set when there is none. A version more than
    /// `after + 1` means the values between were overwritten unread.
    pub fn next_into(
        &self,
        after: u64,
        buf: &mut [u8],
        timeout: Option<Duration>,
    ) -> Result<Snapshot> {
        value::next(&self.map, after, Some(buf), timeout)
    }

    /// As [`Segment::next_into`], into a new vector.
    pub fn next(&self, after: u64, timeout: Option<Duration>) -> Result<(Vec<u8>, u64)> {
        let mut buf = vec![0u8; self.capacity() as usize];
        let s = self.next_into(after, &mut buf, timeout)?;
        buf.truncate(s.len);
        Ok((buf, s.version))
    }

    /// Chooses a value as [`Segment::next`] does and points at it in shared
    /// memory instead of copying it. The bytes stay mapped while this
    /// handle lives; [`Segment::release`] says whether they were
    /// overwritten while borrowed.
    pub fn borrow(&self, after: u64, timeout: Option<Duration>) -> Result<value::Borrowed> {
        value::borrow(&self.map, after, timeout)
    }

    /// `Overwritten` if the borrowed `version` was overwritten (the bytes
    /// read through the borrow may be wrong).
    pub fn release(&self, version: u64) -> Result<()> {
        value::release(&self.map, version)
    }

    /// Takes the writer lock and lends the next value's slot (address,
    /// capacity) to fill in place; [`Segment::publish`] or
    /// [`Segment::discard`], from this thread, ends the loan.
    pub fn loan(&self) -> Result<(*mut u8, usize)> {
        crate::loans::loan(&self.map)
    }

    /// Publishes the first `len` bytes of this thread's loan.
    pub fn publish(&self, len: usize, notify: bool) -> Result<u64> {
        crate::loans::publish(&self.map, len, notify)
    }

    /// Ends this thread's loan, publishing nothing.
    pub fn discard(&self) -> Result<()> {
        crate::loans::discard(&self.map)
    }

    /// Replaces the value; with `notify`, then wakes every waiter. Returns the new version.
    #[inline]
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
            (0, header.published.current.load(Ordering::Acquire))
        } else {
            let s = value::read(map, None)?;
            (s.len as u64, s.version)
        };
        let (owner_alive, owner_pid) = map.owner()?;
        map.this_process()?;
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
            history: map.geometry().history,
            oldest_version: if version == 0 {
                0
            } else {
                value::oldest_kept(map, version).max(1)
            },
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
            fail_point!("destroy.marked");
            if shm::identity_of(map.name()) == Some(map.id()) {
                result = match shm::unlink(map.name()) {
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                    other => other,
                };
            }
        }
        map.set_owned(false);
        record_lock::unlock(map.fd().as_fd(), OWNER_BYTE)?;
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
    deadline: Instant,
) -> Result<Arc<Mapping>> {
    let st = shm::fstat(fd.as_fd(), &name)?;
    if let Some(existing) = registry.find(shm::object_id(&st)) {
        // Closing `fd` drops nothing: it holds no lock.
        return Ok(existing);
    }
    Ok(registry.insert(Mapping::new(name, fd, geometry, writable, deadline)?))
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
    if !record_lock::try_lock(fd.as_fd(), OWNER_BYTE, true)? {
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
    if !still_named(&fd, &name)? {
        return Ok(None);
    }
    let geometry = options.geometry()?;
    if let Err(e) = shm::reserve(fd.as_fd(), geometry.total, &name) {
        let _ = shm::unlink(&name);
        return Err(e);
    }
    fail_point!("create.reserved");
    let deadline = Instant::now() + mapping::READY_TIMEOUT;
    let map = match Mapping::new(name.clone(), fd, geometry, true, deadline) {
        Ok(map) => map,
        Err(e) => {
            let _ = shm::unlink(&name);
            return Err(e);
        }
    };
    initialise(&map, options);
    map.set_owned(true);
    Ok(Some(Segment::handle(registry.insert(map), true)))
}

/// Whether `name` leads to the object `fd` has open.
fn still_named(fd: &OwnedFd, name: &Name) -> Result<bool> {
    let st = shm::fstat(fd.as_fd(), name)?;
    Ok(shm::identity_of(name) == Some(shm::object_id(&st)))
}

/// Writes a fresh header and sync state, then publishes the segment. The
/// magic is written first, so that from then on an attacher knows the
/// object for a segment being created (state INITIALISING: it waits, and
/// `init_instance` takes a dead creation over) rather than a foreign object;
/// no other field is trusted until the state, stored last, says READY.
/// The lock word and the registration counter start at 0, as the new
/// object's bytes are.
fn initialise(map: &Mapping, options: &Options) {
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
        id.history = geometry.history;
        id.created_unix_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    }
    set_owner_fields(map, options);
    value::init_empty(map);
    std::sync::atomic::fence(Ordering::Release);
    map.header()
        .identity
        .state
        .store(layout::STATE_READY, Ordering::Release);
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
/// capacity and history match (the kept values survive), else by removing
/// the old object (its attachers see DESTROYED) so the caller creates it
/// afresh (`Ok(None)`). `Ok(None)` too when the name stopped leading to the
/// object this call locked: the caller starts again with what it names now.
fn take_over(registry: &mut Locked, name: &Name, options: &Options) -> Result<Option<Segment>> {
    let source = match Source::find(registry, name)? {
        Some(source) => source,
        None => return Ok(None),
    };
    let fd = source.fd();
    if record_lock::held_by_other(fd.as_fd(), OWNER_BYTE)? {
        return Err(owner_alive(name));
    }
    fail_point!("takeover.stale");
    if !record_lock::try_lock(fd.as_fd(), OWNER_BYTE, true)? {
        return Err(owner_alive(name));
    }
    let release = |fd: &OwnedFd| record_lock::unlock(fd.as_fd(), OWNER_BYTE);
    // Between opening and locking, the name may have been removed and made
    // anew, with an owner of its own: owning the old object would make two.
    match still_named(fd, name) {
        Ok(true) => {}
        other => {
            release(fd)?;
            return other.map(|_| None);
        }
    }
    let found = mapping::inspect(fd, name);
    let deadline = Instant::now() + mapping::READY_TIMEOUT;
    match found {
        Ok(Found::Ready(geometry))
            if geometry.capacity == options.capacity && geometry.history == options.history =>
        {
            if let Err(e) = set_mode(fd, name, options.mode) {
                release(fd)?;
                return Err(e);
            }
            let mapped_here = matches!(source, Source::Mapped(_));
            let map = source.into_mapping(registry, name, geometry, deadline)?;
            take_over_in_place(&map, options, !mapped_here)?;
            Ok(Some(Segment::handle(map, true)))
        }
        Ok(Found::Ready(geometry) | Found::Destroyed(geometry)) => {
            // Other processes may map the old object: tell them it is gone.
            let old = source.into_mapping(registry, name, geometry, deadline)?;
            fail_point!("takeover.owned");
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

fn owner_alive(name: &Name) -> Error {
    Error::new(
        ErrorKind::Exists,
        format!("segment {} exists and its owner is alive", name.as_str()),
    )
}

/// This process may only read the object: `Exists` if it has a live owner
/// anyway, else `Permission` (taking it over needs write access).
fn refuse_read_only(fd: &OwnedFd, name: &Name) -> Error {
    match record_lock::held_by_other(fd.as_fd(), OWNER_BYTE) {
        Ok(true) => owner_alive(name),
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
    /// What the name leads to now; None if it leads nowhere.
    fn find(registry: &mut Locked, name: &Name) -> Result<Option<Source>> {
        let fd = match shm::open(name, true) {
            Ok(fd) => fd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == ErrorKind::Permission => {
                return Err(match shm::open(name, false) {
                    Ok(fd) => refuse_read_only(&fd, name),
                    Err(_) => e,
                })
            }
            Err(e) => return Err(e),
        };
        // The object we opened, not the one the name led to a moment ago:
        // our locks must go on the description our mapping holds.
        let st = shm::fstat(fd.as_fd(), name)?;
        Ok(Some(match registry.find(shm::object_id(&st)) {
            Some(map) if map.owned() => {
                return Err(Error::new(
                    ErrorKind::Exists,
                    format!("segment {} is already owned by this process", name.as_str()),
                ))
            }
            Some(map) if !map.writable() => return Err(refuse_read_only(map.fd(), name)),
            Some(map) => Source::Mapped(map),
            None => Source::Opened(fd),
        }))
    }

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
        deadline: Instant,
    ) -> Result<Arc<Mapping>> {
        match self {
            Source::Mapped(map) => Ok(map),
            Source::Opened(fd) => {
                Ok(registry.insert(Mapping::new(name.clone(), fd, geometry, true, deadline)?))
            }
        }
    }
}

/// Resets what a dead owner's segment may have left, when it is safe to:
/// only while this mapping holds the attach byte exclusively — no other
/// mapping exists anywhere, and none can start until it is shared again —
/// and no other handle of this process existed. Never "check, then reset":
/// an attacher arriving in between would have its counts reset under it.
fn take_over_in_place(map: &Mapping, options: &Options, first_mapping_here: bool) -> Result<()> {
    set_owner_fields(map, options);
    let alone = first_mapping_here && map.claim_alone()?;
    fail_point!("takeover.owned");
    if alone {
        // Every counted waiter and every registered writer is dead, so the
        // counts and registrations start afresh (no live process can hold
        // a registration a new one might reuse), and a dead writer's hold
        // on the lock is released (and counted).
        let header = map.header();
        header.events.sleepers.store(0, Ordering::SeqCst);
        header.events.waiters.store(0, Ordering::SeqCst);
        if header.lock.word.swap(0, Ordering::SeqCst) != 0 {
            header
                .identity
                .lock_recoveries
                .fetch_add(1, Ordering::Relaxed);
        }
        header.lock.next_registration.store(1, Ordering::SeqCst);
        value::repair(map);
        map.share_attach()?;
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
