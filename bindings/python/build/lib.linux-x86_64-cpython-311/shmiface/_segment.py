"""``Segment``: a handle to a named shared-memory value, and ``Info``."""

from __future__ import annotations

import asyncio
import math
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Optional, Union

from ._errors import DestroyedError, InvalidArgumentError, check
from . import _current
from ._lib import ffi, lib

Buffer = Any  # anything with the buffer protocol: bytes, bytearray, memoryview, numpy arrays
_NOTIFY = lib.SHMIFACE_SET_NOTIFY
# Blocking calls run in slices this long, so Ctrl-C and task cancellation
# are seen promptly; each slice is a real futex wait, not a poll.
_SLICE_SECONDS = 0.1


@dataclass(frozen=True)
class Info:
    """A snapshot of a segment, for monitoring (the fields of ``shmiface_info``)."""

    capacity: int
    length: int
    version: int
    notify_count: int
    waiters: int
    mode: int
    owner_pid: int
    owner_alive: bool
    is_owner: bool
    destroyed: bool


def _as_bytes(data: Union[str, Buffer]) -> Any:
    if isinstance(data, str):
        return data.encode("utf-8")
    return data


def _timeout_ms(seconds: Optional[float]) -> int:
    if seconds is None:
        return -1
    if seconds < 0 or math.isnan(seconds):
        raise InvalidArgumentError(f"timeout must be None or >= 0 seconds, not {seconds}", 3)
    return min(int(math.ceil(seconds * 1000)), 2**62)


class Segment:
    """A handle to a segment, from ``init_instance`` (owner) or
    ``get_instance`` (attach). Thread-safe; ``destroy`` (also on ``with``
    exit, garbage collection and interpreter exit) releases it."""

    def __init__(self, handle: Any, name: str) -> None:
        self._handle = handle
        self._name = name
        self._capacity = self.info().capacity
        # One output buffer per handle, so reads allocate only their result;
        # a second thread reading at the same time gets a buffer of its own.
        self._buf = ffi.new("uint8_t[]", max(self._capacity, 1))
        self._buf_lock = threading.Lock()
        self._len = ffi.new("size_t *")
        self._version = ffi.new("uint64_t *")
        self._finalizer = weakref.finalize(self, lib.shmiface_destroy, handle)

    # -- identity -------------------------------------------------------

    @property
    def name(self) -> str:
        """The segment's name."""
        return self._name

    def _ptr(self) -> Any:
        if self._handle is None:
            raise DestroyedError(f"segment {self._name}: this handle was destroyed", 11)
        return self._handle

    # -- reading --------------------------------------------------------

    def _read(self) -> tuple[bytes, int]:
        handle = self._ptr()
        if self._buf_lock.acquire(blocking=False):
            try:
                return self._read_with(handle, self._buf, self._len, self._version)
            finally:
                self._buf_lock.release()
        return self._read_with(
            handle, ffi.new("uint8_t[]", max(self._capacity, 1)), ffi.new("size_t *"), ffi.new("uint64_t *")
        )

    @staticmethod
    def _read_with(handle: Any, buf: Any, length: Any, version: Any) -> tuple[bytes, int]:
        check(lib.shmiface_get_bytes(handle, buf, len(buf), length, version))
        return ffi.buffer(buf, length[0])[:], version[0]

    def get_bytes(self) -> bytes:
        """The current value as bytes. Never blocks on writers, never torn."""
        return self._read()[0]

    def get_string(self) -> str:
        """The current value decoded as UTF-8 (``UnicodeDecodeError`` if it is not)."""
        return self._read()[0].decode("utf-8")

    def read_into(self, buffer: Buffer) -> int:
        """Copies the value into a writable buffer (bytearray, memoryview,
        numpy array, ...) without an intermediate copy; returns its length.
        ``BufferTooSmallError`` if it does not fit."""
        target = ffi.from_buffer("uint8_t[]", buffer, require_writable=True)
        length = ffi.new("size_t *")
        check(lib.shmiface_get_bytes(self._ptr(), target, len(target), length, ffi.NULL))
        return int(length[0])

    @property
    def version(self) -> int:
        """The version of the current value (completed sets; 0 = never set)."""
        return self._read()[1]

    def info(self) -> Info:
        """A monitoring snapshot (``shmiface_get_info``)."""
        out = ffi.new("shmiface_info *")
        check(lib.shmiface_get_info(self._ptr(), out))
        return Info(
            capacity=out.capacity,
            length=out.length,
            version=out.version,
            notify_count=out.notify_count,
            waiters=out.waiters,
            mode=out.mode,
            owner_pid=out.owner_pid,
            owner_alive=bool(out.owner_alive),
            is_owner=bool(out.is_owner),
            destroyed=bool(out.destroyed),
        )

    # -- writing --------------------------------------------------------

    def set_bytes(self, data: Buffer, notify: bool = False) -> int:
        """Replaces the value with the bytes of any buffer (zero-copy);
        with ``notify``, then wakes every waiter. Returns the new version."""
        source = ffi.from_buffer("uint8_t[]", _as_bytes(data))
        version = ffi.new("uint64_t *")
        check(lib.shmiface_set_bytes(self._ptr(), source, len(source), _NOTIFY if notify else 0, version))
        return int(version[0])

    def set_string(self, value: str) -> None:
        """Replaces the value with ``value`` encoded as UTF-8."""
        self.set_bytes(value.encode("utf-8"))

    def set_string_notify(self, value: str) -> None:
        """Replaces the value, then wakes every waiter in every process."""
        self.set_bytes(value.encode("utf-8"), notify=True)

    def compare_and_set(self, expected_version: int, data: Union[str, Buffer], notify: bool = False) -> int:
        """Replaces the value only if its version is ``expected_version``
        (else ``ConflictError``). Returns the new version."""
        if expected_version < 0:
            raise InvalidArgumentError(f"expected_version must be >= 0, not {expected_version}", 3)
        source = ffi.from_buffer("uint8_t[]", _as_bytes(data))
        version = ffi.new("uint64_t *")
        flags = _NOTIFY if notify else 0
        check(lib.shmiface_compare_and_set(self._ptr(), expected_version, source, len(source), flags, version))
        return int(version[0])

    # -- notifications --------------------------------------------------

    def notify(self) -> None:
        """Wakes every waiter without changing the value."""
        check(lib.shmiface_notify(self._ptr()))

    def _wait_ms(self, timeout_ms: int) -> bool:
        status = lib.shmiface_wait(self._ptr(), ffi.NULL, timeout_ms)
        if status == lib.SHMIFACE_ERR_TIMEOUT:
            return False
        check(status)
        return True

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Blocks until the next notification (True) or the timeout in
        seconds (False); None waits forever. Releases the GIL while waiting.
        Notifications since this handle's last wait (or its creation) count."""
        total = _timeout_ms(timeout)
        slice_ms = int(_SLICE_SECONDS * 1000)
        if 0 <= total <= slice_ms:
            return self._wait_ms(total)
        remaining = total
        while True:
            step = slice_ms if remaining < 0 else min(slice_ms, remaining)
            if self._wait_ms(step):
                return True
            if remaining >= 0:
                remaining -= step
                if remaining <= 0:
                    return False

    async def wait_async(self, timeout: Optional[float] = None) -> bool:
        """``wait`` for asyncio: the blocking wait runs in the loop's executor
        in short slices, so the event loop never blocks and a cancelled task
        leaves no thread waiting for long."""
        loop = asyncio.get_running_loop()
        total = _timeout_ms(timeout)
        slice_ms = int(_SLICE_SECONDS * 1000)
        remaining = total
        while True:
            step = slice_ms if remaining < 0 else min(slice_ms, remaining)
            if await loop.run_in_executor(None, self._wait_ms, step):
                return True
            if remaining >= 0:
                remaining -= step
                if remaining <= 0:
                    return False

    # -- lifetime -------------------------------------------------------

    def destroy(self) -> None:
        """Releases the handle (idempotent). The owner of a non-persistent
        segment also destroys it: waiters wake with ``DestroyedError`` and
        the name is removed."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        self._finalizer.detach()
        _current.forget(self)
        check(lib.shmiface_destroy(handle))

    def __enter__(self) -> "Segment":
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def __repr__(self) -> str:
        state = "destroyed" if self._handle is None else f"capacity={self._capacity}"
        return f"<shmiface.Segment {self._name!r} {state}>"

