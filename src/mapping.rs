//! One mapped segment object in this process: its descriptor, its mapping,
//! and its geometry as checked when it was mapped. The geometry is copied
//! out of shared memory once, so a header scribbled later can never make
//! this process index outside the mapping.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::events;
use crate::layout::{self, Header, SlotHeader};
use crate::name::Name;
use crate::shm::{self, Map};
use crate::sync::record_lock;

/// How long an attacher waits for a segment that is still being created.
pub const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// Sizes a valid header promises, checked against the object's real size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub capacity: u64,
    pub stride: u64,
    pub total: u64,
}

impl Geometry {
    pub fn for_capacity(capacity: u64) -> Geometry {
        Geometry {
            capacity,
            stride: layout::slot_stride(capacity),
            total: layout::total_size(capacity),
        }
    }
}

/// What the bytes of an object say about it.
#[derive(Debug)]
pub enum Found {
    Ready(Geometry),
    /// Empty, all-zero header, or a creator (magic written, state still
    /// INITIALISING) has not published it yet.
    Initialising,
    Destroyed(Geometry),
    /// Not a segment this library can use; the detail says why.
    Foreign(String),
}

/// Reads the identity line through the descriptor (no mapping, so a short
/// or hostile object cannot fault us) and checks every field.
pub fn inspect(fd: &OwnedFd, name: &Name) -> Result<Found> {
    let size = shm::fstat(fd.as_fd(), name)?.st_size as u64;
    let mut raw = [0u8; layout::LINE];
    let got = nix::sys::uio::pread(fd, &mut raw, 0)
        .map_err(|e| Error::from_errno(e, format!("reading the header of {}", name.as_str())))?;
    if raw[..got].iter().all(|&b| b == 0) {
        return Ok(Found::Initialising);
    }
    if got < layout::LINE {
        return Ok(Found::Foreign(format!(
            "the object is {size} bytes, smaller than a header"
        )));
    }
    let u32_at = |o: usize| u32::from_ne_bytes(raw[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_ne_bytes(raw[o..o + 8].try_into().unwrap());
    if raw[..8] != layout::MAGIC {
        return Ok(Found::Foreign(
            "it is not a shmiface segment (no SHMIFACE magic)".into(),
        ));
    }
    // A creator writes the magic first and the state last: until then the
    // other fields may be half-written, so they are not checked yet.
    if u32_at(48) == layout::STATE_INITIALISING {
        return Ok(Found::Initialising);
    }
    let version = u32_at(8);
    if version != layout::LAYOUT_VERSION {
        return Ok(Found::Foreign(format!(
            "it has layout version {version}; this library reads version {}",
            layout::LAYOUT_VERSION
        )));
    }
    let header_size = u32_at(12) as usize;
    if header_size != layout::HEADER_SIZE {
        return Ok(Found::Foreign(format!(
            "header_size is {header_size}, expected {}",
            layout::HEADER_SIZE
        )));
    }
    let capacity = u64_at(16);
    if capacity == 0 || capacity > layout::MAX_CAPACITY {
        return Ok(Found::Foreign(format!(
            "capacity {capacity} is outside 1..={}",
            layout::MAX_CAPACITY
        )));
    }
    let geometry = Geometry::for_capacity(capacity);
    let (total, stride) = (u64_at(24), u64_at(32));
    if stride != geometry.stride {
        return Ok(Found::Foreign(format!(
            "slot_stride is {stride}, capacity {capacity} needs {}",
            geometry.stride
        )));
    }
    if total != geometry.total {
        return Ok(Found::Foreign(format!(
            "total_size is {total}, capacity {capacity} needs {}",
            geometry.total
        )));
    }
    if size != total {
        return Ok(Found::Foreign(format!(
            "the header says {total} bytes but the object has {size}"
        )));
    }
    Ok(match u32_at(48) {
        layout::STATE_READY if destroyed_bit(fd, name)? => Found::Destroyed(geometry),
        layout::STATE_READY => Found::Ready(geometry),
        layout::STATE_DESTROYED => Found::Destroyed(geometry),
        other => Found::Foreign(format!("state {other} is unknown")),
    })
}

/// Whether the events line says destroyed (the state normally says so
/// too; a segment whose two disagree is treated as destroyed, so that a
/// new owner replaces it rather than taking over a handle that is inert).
fn destroyed_bit(fd: &OwnedFd, name: &Name) -> Result<bool> {
    let mut raw = [0u8; 8];
    let offset = std::mem::offset_of!(layout::Header, events) as i64;
    nix::sys::uio::pread(fd, &mut raw, offset)
        .map_err(|e| Error::from_errno(e, format!("reading the header of {}", name.as_str())))?;
    Ok(u64::from_ne_bytes(raw) & layout::SEQ_DESTROYED != 0)
}

/// Waits (at most `timeout`) until the object is a ready segment.
pub fn wait_until_ready(fd: &OwnedFd, name: &Name, timeout: Duration) -> Result<Geometry> {
    let deadline = Instant::now() + timeout;
    loop {
        match inspect(fd, name)? {
            Found::Ready(g) => return Ok(g),
            Found::Destroyed(_) => {
                return Err(Error::new(
                    ErrorKind::Destroyed,
                    format!("segment {} was destroyed by its owner", name.as_str()),
                ))
            }
            Found::Foreign(why) => {
                return Err(Error::new(
                    ErrorKind::Incompatible,
                    format!("/dev/shm/{}: {why}", name.as_str()),
                ))
            }
            Found::Initialising if Instant::now() >= deadline => {
                return Err(Error::new(
                    ErrorKind::NotReady,
                    format!(
                        "segment {} is still being initialised after {} ms (its creator may have died; \
                         init_instance takes it over)",
                        name.as_str(),
                        timeout.as_millis()
                    ),
                ))
            }
            Found::Initialising => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// A segment mapped in this process, shared by all of its handles.
pub struct Mapping {
    name: Name,
    map: Map,
    fd: OwnedFd,
    /// Descriptors of this object opened by a lost race; closing one would
    /// drop this process's record locks, so they live as long as `fd`.
    spare_fds: Mutex<Vec<OwnedFd>>,
    id: shm::ObjectId,
    geometry: Geometry,
    writable: bool,
    /// The pid that holds the owner lock, if it is this process (F_GETLK
    /// cannot tell us); a forked child inherits the value but not the lock.
    owned_by: AtomicU32,
    /// How long this process's waiters on the segment spin, learnt from
    /// how long their notifications took to come.
    spin_hint: events::SpinHint,
}

impl Mapping {
    /// Maps a checked object and announces this process as an attacher.
    pub fn new(name: Name, fd: OwnedFd, geometry: Geometry, writable: bool) -> Result<Mapping> {
        let st = shm::fstat(fd.as_fd(), &name)?;
        let map = Map::new(fd.as_fd(), geometry.total as usize, writable, &name)?;
        record_lock::try_lock(fd.as_fd(), record_lock::ATTACH_BYTE, false)?;
        Ok(Mapping {
            name,
            map,
            fd,
            spare_fds: Mutex::new(Vec::new()),
            id: shm::object_id(&st),
            geometry,
            writable,
            owned_by: AtomicU32::new(0),
            spin_hint: events::SpinHint::new(),
        })
    }

    pub fn name(&self) -> &Name {
        &self.name
    }

    pub fn spin_hint(&self) -> &events::SpinHint {
        &self.spin_hint
    }

    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    pub fn id(&self) -> shm::ObjectId {
        self.id
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    pub fn writable(&self) -> bool {
        self.writable
    }

    pub fn owned(&self) -> bool {
        self.owned_by.load(Ordering::Acquire) == std::process::id()
    }

    pub fn set_owned(&self, owned: bool) {
        let pid = if owned { std::process::id() } else { 0 };
        self.owned_by.store(pid, Ordering::Release);
    }

    pub fn keep_spare_fd(&self, fd: OwnedFd) {
        self.spare_fds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(fd);
    }

    pub fn header(&self) -> &Header {
        // SAFETY: the mapping is at least HEADER_SIZE bytes (checked geometry),
        // page-aligned, and every field that changes is atomic or behind the
        // robust mutex.
        unsafe { &*(self.map.as_ptr() as *const Header) }
    }

    pub fn mutex(&self) -> *mut libc::pthread_mutex_t {
        self.header().lock.mutex.get()
    }

    /// Slot `index` (0 or 1): its header and the start of its bytes.
    pub fn slot(&self, index: usize) -> (&SlotHeader, *mut u8) {
        debug_assert!(index < 2);
        let offset = layout::HEADER_SIZE + (index & 1) * self.geometry.stride as usize;
        debug_assert!(offset + self.geometry.stride as usize <= self.map.len());
        // SAFETY: offset + stride lies inside the mapping (geometry checked
        // against the object's size), and slot headers are line-aligned.
        unsafe {
            let base = self.map.as_ptr().add(offset);
            (
                &*(base as *const SlotHeader),
                base.add(layout::SLOT_HEADER_SIZE),
            )
        }
    }

    pub fn is_destroyed(&self) -> bool {
        self.header().events.seq.load(Ordering::Acquire) & layout::SEQ_DESTROYED != 0
    }

    /// Is an owner alive, and which pid (the recorded one when none is).
    pub fn owner(&self) -> Result<(bool, i32)> {
        if self.owned() {
            return Ok((true, std::process::id() as i32));
        }
        Ok(
            match record_lock::holder(self.fd.as_fd(), record_lock::OWNER_BYTE)? {
                Some(pid) => (true, pid),
                None => (
                    false,
                    self.header().identity.owner_pid.load(Ordering::Relaxed),
                ),
            },
        )
    }

    #[inline]
    pub fn not_destroyed(&self) -> Result<()> {
        if self.is_destroyed() {
            Err(self.destroyed_error())
        } else {
            Ok(())
        }
    }

    #[cold]
    #[inline(never)]
    fn destroyed_error(&self) -> Error {
        Error::new(
            ErrorKind::Destroyed,
            format!("segment {} was destroyed by its owner", self.name.as_str()),
        )
    }

    #[inline]
    pub fn writable_or_err(&self, what: &str) -> Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(self.read_only_error(what))
        }
    }

    #[cold]
    #[inline(never)]
    fn read_only_error(&self, what: &str) -> Error {
        Error::new(
            ErrorKind::Permission,
            format!(
                "{what} on {}: this process attached read-only",
                self.name.as_str()
            ),
        )
    }
}
