"""``Segment``: a handle to a named shared-memory value, and ``Info``."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator, Optional, Union

from . import _args, _current, _raw, _streams, _views
from ._async_streams import AsyncValues, next_async
from ._fastpath import NOTHING_KEPT, Probe, as_chars, reader, text_writer
from ._errors import check, error_for
from ._handle import Handle, get_ident
from ._lib import ffi, lib
from ._multiplex import multiplexer
from ._slices import Slices, deadline
from ._streams import Message
from ._views import Borrow, Loan

Buffer = Any  # anything with the buffer protocol: bytes, bytearray, memoryview, numpy arrays

_OK = lib.SHMIFACE_OK
_TIMEOUT = lib.SHMIFACE_ERR_TIMEOUT
_NOTIFY = lib.SHMIFACE_SET_NOTIFY
# How long a destroy waits for other threads' calls in flight on the handle
# (each ends within a wait slice, or sooner); past it, the last of them
# destroys the handle as it returns. A bound, so that a thread stuck in the
# middle of a call (a daemon at interpreter exit, a debugger) cannot hang it.
_DESTROY_GRACE_SECONDS = 10.0
_EXIT_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class Info:
    """A snapshot of a segment, for monitoring (the fields of ``shmiface_info``)."""

    capacity: int
    """Bytes one value may hold."""
    length: int
    """Bytes in the current value."""
    version: int
    """Completed sets since creation; 0 = never set."""
    notify_count: int
    """Notifications since creation."""
    waiters: int
    """Threads blocked in a wait right now, in every process."""
    mode: int
    """Permission bits of the shared-memory object."""
    owner_pid: int
    """Process id of the owner."""
    owner_alive: bool
    """Whether the owner process still holds the segment."""
    is_owner: bool
    """Whether this handle created (or took over) the segment."""
    destroyed: bool
    """Whether the owner destroyed the segment (the handle is then inert)."""
    # ABI 1.1 (shmiface_info_ex). Defaults and no part in ==, so an Info
    # written with the 1.0 fields alone still equals a snapshot.
    history: int = field(default=1, compare=False)
    """Values the segment keeps readable (1: only the current one)."""
    oldest_version: int = field(default=0, compare=False)
    """The oldest version still readable; 0 if never set."""


class Segment:
    """A handle to a segment, from ``init_instance`` (owner) or
    ``get_instance`` (attach). Thread-safe, including ``destroy`` while
    other threads use or wait on it. ``destroy`` (also on ``with`` exit,
    garbage collection and interpreter exit) releases it."""

    def __init__(self, ptr: Any, name: str) -> None:
        """Wraps a handle made by the library; use ``init_instance`` or
        ``get_instance`` rather than calling this."""
        self._handle = Handle(ptr, name)
        self._name = name
        # Destroys the C handle when this object is collected or the
        # interpreter exits; it holds the Handle, not the Segment.
        self._finalizer = weakref.finalize(self, self._handle.close, _EXIT_GRACE_SECONDS)
        first = self.info()
        # What get_bytes and get_string keep, and where they check it (_fastpath).
        self._probe = Probe(ptr)
        self._kept = NOTHING_KEPT
        self._handle.owner = first.is_owner
        self._capacity = first.capacity
        self._history = first.history
        # This handle's notification cursor: wait() returns on notifications
        # after it. Kept here, not in the library, so a wait that is given up
        # (a cancelled task) does not swallow the notification it caught.
        self._seen = first.notify_count

    # -- identity -------------------------------------------------------

    @property
    def name(self) -> str:
        """The segment's name."""
        return self._name

    def _status(self, fn: Callable[..., int], *args: Any) -> int:
        """The status of ``fn(handle, *args)``, with the handle borrowed."""
        handle = self._handle
        me = get_ident()
        ptr = handle.acquire(me)
        try:
            return fn(ptr, *args)
        finally:
            handle.release(me)

    def _call(self, fn: Callable[..., int], *args: Any) -> None:
        """Calls ``fn(handle, *args)`` and raises on a failing status."""
        status = self._status(fn, *args)
        if status != _OK:
            raise error_for(status)

    # -- reading --------------------------------------------------------

    get_bytes: ClassVar[Callable[["Segment"], bytes]] = reader(
        "get_bytes", False, "The current value as bytes. Never blocks on writers, never torn."
    )
    get_string: ClassVar[Callable[["Segment"], str]] = reader(
        "get_string", True, "The current value decoded as UTF-8 (``UnicodeDecodeError`` if it is not)."
    )

    def read_into(self, buffer: Buffer) -> int:
        """Copies the value into a writable buffer (bytearray, memoryview,
        numpy array, ...) with no intermediate copy; returns its length.
        ``BufferTooSmallError`` if it does not fit (the buffer is then unchanged)."""
        target = ffi.from_buffer("uint8_t[]", buffer, require_writable=True)
        length = ffi.new("size_t *")
        self._call(lib.shmiface_get_bytes, target, len(target), length, ffi.NULL)
        return int(length[0])

    @property
    def version(self) -> int:
        """The version of the current value (completed sets; 0 = never set)."""
        return int(self._raw_info().version)

    def _raw_info(self) -> Any:
        out = ffi.new("shmiface_info *")
        self._call(lib.shmiface_get_info, out)
        return out

    def info(self) -> Info:
        """A monitoring snapshot (``shmiface_get_info_ex``)."""
        ex = ffi.new("shmiface_info_ex *")
        self._call(lib.shmiface_get_info_ex, ex, ffi.sizeof("shmiface_info_ex"))
        out = ex.info
        return Info(
            capacity=int(out.capacity),
            length=int(out.length),
            version=int(out.version),
            notify_count=int(out.notify_count),
            waiters=int(out.waiters),
            mode=int(out.mode),
            owner_pid=int(out.owner_pid),
            owner_alive=bool(out.owner_alive),
            is_owner=bool(out.is_owner),
            destroyed=bool(out.destroyed),
            history=int(ex.history),
            oldest_version=int(ex.oldest_version),
        )

    @property
    def history(self) -> int:
        """Values the segment keeps readable (1: only the current one)."""
        return self._history

    @property
    def capacity(self) -> int:
        """Bytes one value may hold."""
        return self._capacity

    # -- writing --------------------------------------------------------

    def set_bytes(self, data: Buffer, notify: bool = False) -> int:
        """Replaces the value with the bytes of any buffer (bytes, bytearray,
        memoryview, a C-contiguous numpy array: no copy is made in Python);
        with ``notify``, then wakes every waiter. Returns the new version."""
        source = as_chars(data)
        version = ffi.new("uint64_t *")
        self._call(_raw.set_bytes, source, len(source), _NOTIFY if notify else 0, version)
        return int(version[0])

    set_string = text_writer("set_string", 0, "Replaces the value with ``value`` encoded as UTF-8.")
    set_string_notify = text_writer(
        "set_string_notify", _NOTIFY, "Replaces the value, then wakes every waiter in every process."
    )

    def compare_and_set(self, expected_version: int, data: Union[str, Buffer], notify: bool = False) -> int:
        """Replaces the value only if its version is ``expected_version``
        (else ``ConflictError``, and nothing changes); with ``notify``, then
        wakes every waiter. Returns the new version. ``data``: a str
        (UTF-8) or any buffer, as for ``set_bytes``."""
        expected = _args.unsigned("expected_version", expected_version, 64)
        source = as_chars(data)
        version = ffi.new("uint64_t *")
        flags = _NOTIFY if notify else 0
        self._call(_raw.compare_and_set, expected, source, len(source), flags, version)
        return int(version[0])

    # -- notifications --------------------------------------------------

    def notify(self) -> None:
        """Wakes every waiter, in every process, without changing the value."""
        self._call(lib.shmiface_notify)

    def _wait_slice(self, seen: int, timeout_ms: int) -> Optional[int]:
        """One library wait from cursor ``seen``: the new cursor, or None on timeout."""
        cursor = ffi.new("uint64_t *", seen)
        status = self._status(lib.shmiface_wait, cursor, timeout_ms)
        if status == _TIMEOUT:
            return None
        check(status)
        return int(cursor[0])

    def _saw(self, cursor: int) -> bool:
        self._seen = cursor  # one assignment: atomic, whichever waiter is last
        return True

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Blocks until a notification (True) or until ``timeout`` seconds
        pass (False); None waits forever. Notifications since this handle's
        last successful wait (or its creation) count, so none is missed.
        Releases the GIL while waiting. ``DestroyedError`` if the owner
        destroys the segment meanwhile."""
        slices = Slices(_args.timeout_ms(timeout))
        while True:
            step = slices.next()
            if step is None:
                return False
            cursor = self._wait_slice(self._seen, step)
            if cursor is not None:
                return self._saw(cursor)

    async def wait_async(self, timeout: Optional[float] = None) -> bool:
        """``wait`` for asyncio, on the process's two shared waiter threads
        (see ``_multiplex``): the event loop never blocks, and a thousand
        pending waits are not a thousand threads. If the task is cancelled, the
        notification it may have caught stays for the next wait."""
        total_ms = _args.timeout_ms(timeout)
        seen = self._seen
        cursor = self._wait_slice(seen, 0)
        if cursor is None and total_ms != 0:
            cursor = await multiplexer().wait(lambda ms: self._wait_slice(seen, ms), self._handle, deadline(total_ms))
        if cursor is None:
            return False
        return self._saw(cursor)

    # -- streams --------------------------------------------------------

    def next(self, after: Optional[int] = None, timeout: Optional[float] = None) -> Optional[Message]:
        """The oldest kept value newer than version ``after``, as a
        ``Message`` (``lost``: values in between overwritten unread). With
        ``after`` None: the current value at once (version 0 and empty if
        never set). Otherwise waits up to ``timeout`` seconds (None:
        forever) for a set, notified or not, and returns None on timeout.
        Releases the GIL while waiting; ``DestroyedError`` if the segment is
        destroyed meanwhile."""
        return _streams.next_message(self, after, timeout)

    def values(self, after: Optional[int] = None, timeout: Optional[float] = None) -> Iterator[Message]:
        """Every value in order, from the one after version ``after`` (None:
        from the current one). Ends when no value comes within ``timeout``
        seconds (None: never) or the segment or this handle is destroyed.
        A reader that falls more than ``history`` values behind skips the
        overwritten ones; each Message's ``lost`` counts them."""
        return _streams.values(self, after, timeout)

    async def next_async(self, after: Optional[int] = None, timeout: Optional[float] = None) -> Optional[Message]:
        """``next`` for asyncio, without blocking the event loop."""
        return await next_async(self, after, timeout)

    def values_async(self, after: Optional[int] = None, timeout: Optional[float] = None) -> AsyncValues:
        """``values`` as an async iterator (``async for m in seg.values_async()``),
        without blocking the event loop; many may run at once on one thread."""
        return AsyncValues(self, after, timeout)

    # -- zero copy ------------------------------------------------------

    def borrow(self, after: Optional[int] = None, timeout: Optional[float] = None) -> Borrow:
        """Reads a value in place: chosen as ``next`` chooses it, but
        ``b.view`` is a read-only memoryview of its bytes in shared memory
        (``numpy.frombuffer(b.view)`` copies nothing). Use as ``with
        seg.borrow() as b:``; leaving the block raises ``OverwrittenError``
        if a writer overwrote the value meanwhile (at least ``history``
        newer sets are needed for that). ``WaitTimeoutError`` on timeout."""
        return _views.borrow(self, after, timeout)

    def loan(self) -> Loan:
        """Writes the next value in place: ``loan.buffer`` is a writable
        memoryview of ``capacity`` bytes in shared memory, ``loan.publish(n)``
        makes its first ``n`` bytes the new value. Use as ``with seg.loan()
        as loan:``; leaving without publishing discards. Holds the writer
        lock until then (this thread's own sets raise ``BusyError``)."""
        return _views.loan(self)

    # -- lifetime -------------------------------------------------------

    def destroy(self) -> None:
        """Releases the handle (idempotent). The owner of a non-persistent
        segment also destroys the segment: waiters everywhere wake with
        ``DestroyedError`` and the name is removed. Safe while other threads
        use this handle: they finish their call (a wait within 0.1 s) and
        later calls raise ``DestroyedError``. Views (borrows, loans and
        what was made from them) stay valid: the mapping goes with the last
        of them, while the owner's destroy is seen by everyone at once."""
        if self._handle.closed:
            return
        self._finalizer.detach()
        _current.forget(self)
        self._kept = NOTHING_KEPT
        check(self._handle.close(_DESTROY_GRACE_SECONDS))

    def __enter__(self) -> "Segment":
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def __repr__(self) -> str:
        state = "destroyed" if self._handle.closed else f"capacity={self._capacity}"
        return f"<shmiface.Segment {self._name!r} {state}>"

