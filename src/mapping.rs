//! One mapped segment object in this process: its descriptor, its mapping,
//! and its geometry as checked when it was mapped. The geometry is copied
//! out of shared memory once, so a header scribbled later can never make
//! this process index outside the mapping.

use std::mem::ManuallyDrop;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::failpoints::fail_point;
use crate::layout::{self, Header, SlotHeader};
use crate::name::Name;
use crate::shm::{self, Map};
use crate::sync::record_lock::{self, ATTACH_BYTE, OWNER_BYTE, REGISTRATION_BASE};
use crate::sync::writer_lock::{self, MAX_REGISTRATION};
use crate::{events, forks};

/// How long an attacher waits for a segment that is still being created.
pub const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// Sizes a valid header promises, checked against the object's real size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub capacity: u64,
    /// Values kept readable; there are `history + 1` slots.
    pub history: u32,
    pub stride: u64,
    pub total: u64,
}

impl Geometry {
    /// The geometry of a segment of this shape; None past the size limit.
    pub fn new(capacity: u64, history: u32) -> Option<Geometry> {
        Some(Geometry {
            capacity,
            history,
            stride: layout::slot_stride(capacity),
            total: layout::total_size(capacity, history)?,
        })
    }

    pub fn slots(&self) -> u64 {
        u64::from(self.history) + 1
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
    let mut raw = [0u8; layout::IDENTITY_SIZE];
    let got = nix::sys::uio::pread(fd, &mut raw, 0)
        .map_err(|e| Error::from_errno(e, format!("reading the header of {}", name.as_str())))?;
    if raw[..got].iter().all(|&b| b == 0) {
        return Ok(Found::Initialising);
    }
    if got < layout::IDENTITY_SIZE {
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
    let history = u32_at(std::mem::offset_of!(layout::Identity, history));
    if history == 0 || history > layout::MAX_HISTORY {
        return Ok(Found::Foreign(format!(
            "history {history} is outside 1..={}",
            layout::MAX_HISTORY
        )));
    }
    let Some(geometry) = Geometry::new(capacity, history) else {
        return Ok(Found::Foreign(format!(
            "capacity {capacity} with history {history} is larger than any segment"
        )));
    };
    let (total, stride) = (u64_at(24), u64_at(32));
    if stride != geometry.stride {
        return Ok(Found::Foreign(format!(
            "slot_stride is {stride}, capacity {capacity} needs {}",
            geometry.stride
        )));
    }
    if total != geometry.total {
        return Ok(Found::Foreign(format!(
            "total_size is {total}, capacity {capacity} and history {history} need {}",
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
    /// Our own open file description of the object: it carries this
    /// process's locks (attach, owner, registration), which no other
    /// descriptor's close can drop. Closed by hand in `Drop`, and never by
    /// a forked child (see `forks`).
    fd: ManuallyDrop<OwnedFd>,
    id: shm::ObjectId,
    geometry: Geometry,
    writable: bool,
    /// The fork epoch this mapping was made in.
    epoch: u32,
    /// The pid that holds the owner lock, if it is this process (F_OFD_GETLK
    /// does not report our own locks).
    owned_by: AtomicU32,
    /// This process's writer registration, 0 until its first write.
    registration: AtomicU32,
    registering: Mutex<()>,
    /// How long this process's waiters on the segment spin, learnt from
    /// how long their notifications took to come.
    spin_hint: events::SpinHint,
}

impl Mapping {
    /// Maps a checked object and announces this process as an attacher,
    /// waiting until `deadline` while a new owner resets the segment.
    pub fn new(
        name: Name,
        fd: OwnedFd,
        geometry: Geometry,
        writable: bool,
        deadline: Instant,
    ) -> Result<Mapping> {
        let st = shm::fstat(fd.as_fd(), &name)?;
        let map = Map::new(fd.as_fd(), geometry.total as usize, writable, &name)?;
        while !record_lock::try_lock(fd.as_fd(), ATTACH_BYTE, false)? {
            if Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::NotReady,
                    format!(
                        "segment {} is being taken over by a new owner",
                        name.as_str()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        forks::track(fd.as_raw_fd(), map.as_ptr(), map.len());
        Ok(Mapping {
            name,
            map,
            fd: ManuallyDrop::new(fd),
            id: shm::object_id(&st),
            geometry,
            writable,
            epoch: forks::epoch(),
            owned_by: AtomicU32::new(0),
            registration: AtomicU32::new(0),
            registering: Mutex::new(()),
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

    /// Refuses a mapping inherited through fork: its descriptor (and so its
    /// locks and registration) belong to the parent.
    #[inline]
    pub fn this_process(&self) -> Result<()> {
        if self.epoch == forks::epoch() {
            Ok(())
        } else {
            Err(self.inherited_error())
        }
    }

    #[cold]
    #[inline(never)]
    fn inherited_error(&self) -> Error {
        Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "segment {} was attached before this process forked; attach again in the child",
                self.name.as_str()
            ),
        )
    }

    pub fn owned(&self) -> bool {
        self.owned_by.load(Ordering::Acquire) == std::process::id()
    }

    pub fn set_owned(&self, owned: bool) {
        let pid = if owned { std::process::id() } else { 0 };
        self.owned_by.store(pid, Ordering::Release);
    }

    pub fn header(&self) -> &Header {
        // SAFETY: the mapping is at least HEADER_SIZE bytes (checked geometry),
        // page-aligned, and every field that changes is atomic.
        unsafe { &*(self.map.as_ptr() as *const Header) }
    }

    /// The slot that holds (or will hold) `version`.
    #[inline]
    pub fn slot_of(&self, version: u64) -> usize {
        let slots = self.geometry.slots();
        if slots.is_power_of_two() {
            (version & (slots - 1)) as usize
        } else {
            (version % slots) as usize
        }
    }

    /// Slot `index`: its header and the start of its bytes.
    #[inline]
    pub fn slot(&self, index: usize) -> (&SlotHeader, *mut u8) {
        debug_assert!((index as u64) < self.geometry.slots());
        let offset = layout::HEADER_SIZE + index * self.geometry.stride as usize;
        debug_assert!(offset + self.geometry.stride as usize <= self.map.len());
        // SAFETY: index < slots, so offset + stride lies inside the mapping
        // (geometry checked against the object's size), and slot headers
        // are line-aligned.
        unsafe {
            let base = self.map.as_ptr().add(offset);
            (
                &*(base as *const SlotHeader),
                base.add(layout::SLOT_HEADER_SIZE),
            )
        }
    }

    /// Takes the writer lock, taking it over from a holder whose process
    /// died. `Busy` if this very thread holds it (an open loan). The guard
    /// must not outlive the mapping (a loan keeps the mapping with it).
    #[inline]
    pub fn lock_writer(&self) -> Result<writer_lock::Guard> {
        self.this_process()?;
        let me = match self.registration.load(Ordering::Acquire) {
            0 => self.register()?,
            r => r,
        };
        let header = self.header();
        // SAFETY: both words live in this mapping, which the caller keeps
        // alive for the guard's life.
        let guard = unsafe {
            writer_lock::lock(
                &header.lock.word,
                &*events::futex_word(&header.published.current),
                me,
                |r| self.registration_alive(r),
                || crate::loans::held_here(self),
            )
        }
        .map_err(|_| self.busy_error())?;
        if guard.recovered {
            // The slot protocol needs no repair; counting makes crashes visible.
            self.header()
                .identity
                .lock_recoveries
                .fetch_add(1, Ordering::Relaxed);
        }
        Ok(guard)
    }

    #[cold]
    #[inline(never)]
    fn busy_error(&self) -> Error {
        Error::new(
            ErrorKind::Busy,
            format!(
                "this thread holds an open loan on {}: publish or discard it first",
                self.name.as_str()
            ),
        )
    }

    /// Takes this process's writer registration: a number from the
    /// segment's counter, which only grows, whose byte this description
    /// then write-locks for as long as the mapping lives.
    #[cold]
    fn register(&self) -> Result<u32> {
        let _one = self.registering.lock().unwrap_or_else(|e| e.into_inner());
        if let r @ 1.. = self.registration.load(Ordering::Acquire) {
            return Ok(r);
        }
        let next = &self.header().lock.next_registration;
        // A byte someone else holds means a scribbled counter: skip it.
        for _ in 0..64 {
            let Ok(r) = next.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
                (r < MAX_REGISTRATION).then_some(r.max(1) + 1)
            }) else {
                break;
            };
            let r = r.max(1);
            if record_lock::try_lock(self.fd.as_fd(), REGISTRATION_BASE + i64::from(r), true)? {
                self.registration.store(r, Ordering::Release);
                return Ok(r);
            }
        }
        Err(Error::new(
            ErrorKind::Incompatible,
            format!(
                "segment {} has no writer registration left to hand out; create it anew",
                self.name.as_str()
            ),
        ))
    }

    /// Whether the process of writer registration `r` lives. When the
    /// kernel cannot say, it is taken to live: a writer waits rather than
    /// risk two writers.
    fn registration_alive(&self, r: u32) -> bool {
        r != 0
            && record_lock::held_by_other(self.fd.as_fd(), REGISTRATION_BASE + i64::from(r))
                .unwrap_or(true)
    }

    /// Holds the attach byte exclusively: true when no other mapping of
    /// the segment exists anywhere (and none can start until
    /// [`Mapping::share_attach`]).
    pub fn claim_alone(&self) -> Result<bool> {
        record_lock::try_lock(self.fd.as_fd(), ATTACH_BYTE, true)
    }

    /// Back to an ordinary attacher's shared hold, after [`Mapping::claim_alone`].
    pub fn share_attach(&self) -> Result<()> {
        record_lock::try_lock(self.fd.as_fd(), ATTACH_BYTE, false).map(drop)
    }

    pub fn is_destroyed(&self) -> bool {
        self.header().events.seq.load(Ordering::Acquire) & layout::SEQ_DESTROYED != 0
    }

    /// Is an owner alive, and which pid it recorded.
    pub fn owner(&self) -> Result<(bool, i32)> {
        if self.owned() {
            return Ok((true, std::process::id() as i32));
        }
        self.this_process()?;
        let alive = record_lock::held_by_other(self.fd.as_fd(), OWNER_BYTE)?;
        Ok((
            alive,
            self.header().identity.owner_pid.load(Ordering::Relaxed),
        ))
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

impl Drop for Mapping {
    fn drop(&mut self) {
        fail_point!("release.closing");
        if self.epoch == forks::epoch() {
            forks::untrack(self.fd.as_raw_fd());
            // SAFETY: dropped once, here; closing drops this description's
            // locks, which belong to no one else.
            unsafe { ManuallyDrop::drop(&mut self.fd) };
        }
        // In a forked child the number was closed at fork and may name
        // another file now: leave it alone.
    }
}
