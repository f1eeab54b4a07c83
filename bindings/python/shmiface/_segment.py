"""``Segment``: a handle to a named shared-memory value, and ``Info``."""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Optional, Union

from . import _args, _current, _raw, _waiters
from ._fastpath import as_chars, reader, text_writer
from ._errors import check, error_for
from ._handle import Handle, get_ident
from ._lib import ffi, lib

Buffer = Any  # anything with the buffer protocol: bytes, bytearray, memoryview, numpy arrays

_OK = lib.SHMIFACE_OK
_TIMEOUT = lib.SHMIFACE_ERR_TIMEOUT
_NOTIFY = lib.SHMIFACE_SET_NOTIFY
# Blocking waits run in slices this long, so Ctrl-C, task cancellation and a
# destroy from another thread are seen promptly; each slice is a real futex
# wait in the library, not a poll.
_SLICE_MS = 100
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
        self._capacity = first.capacity
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
        """A monitoring snapshot (``shmiface_get_info``)."""
        out = self._raw_info()
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
        )

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
        slices = _Slices(_args.timeout_ms(timeout))
        while True:
            step = slices.next()
            if step is None:
                return False
            cursor = self._wait_slice(self._seen, step)
            if cursor is not None:
                return self._saw(cursor)

    async def wait_async(self, timeout: Optional[float] = None) -> bool:
        """``wait`` for asyncio: the blocking wait runs on a worker thread in
        short slices, so the event loop never blocks and never polls. If the
        task is cancelled, the worker stops within one slice and the
        notification it may have caught stays for the next wait."""
        loop = asyncio.get_running_loop()
        slices = _Slices(_args.timeout_ms(timeout))
        while True:
            step = slices.next()
            if step is None:
                return False
            cursor = await loop.run_in_executor(_waiters.executor(), self._wait_slice, self._seen, step)
            if cursor is not None:
                return self._saw(cursor)

    # -- lifetime -------------------------------------------------------

    def destroy(self) -> None:
        """Releases the handle (idempotent). The owner of a non-persistent
        segment also destroys the segment: waiters everywhere wake with
        ``DestroyedError`` and the name is removed. Safe while other threads
        use this handle: they finish their call (a wait within 0.1 s) and
        later calls raise ``DestroyedError``."""
        if self._handle.closed:
            return
        self._finalizer.detach()
        _current.forget(self)
        check(self._handle.close(_DESTROY_GRACE_SECONDS))

    def __enter__(self) -> "Segment":
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def __repr__(self) -> str:
        state = "destroyed" if self._handle.closed else f"capacity={self._capacity}"
        return f"<shmiface.Segment {self._name!r} {state}>"


class _Slices:
    """Splits a wait of ``total_ms`` (-1: forever) into slices of at most
    ``_SLICE_MS``; the first slice always runs, so a timeout of 0 polls once."""

    __slots__ = ("_deadline", "_first")

    def __init__(self, total_ms: int) -> None:
        self._deadline = None if total_ms < 0 else time.monotonic() + total_ms / 1000
        self._first: Optional[int] = total_ms if 0 <= total_ms < _SLICE_MS else _SLICE_MS

    def next(self) -> Optional[int]:
        """The next slice in milliseconds, or None when the time is up."""
        if self._first is not None:
            first, self._first = self._first, None
            return first
        if self._deadline is None:
            return _SLICE_MS
        left_ms = (self._deadline - time.monotonic()) * 1000
        if left_ms <= 0:
            return None
        return min(_SLICE_MS, max(1, int(left_ms + 0.999)))
