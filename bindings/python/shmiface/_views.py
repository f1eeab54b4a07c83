"""Zero-copy access to a segment's bytes: ``Borrow`` (read) and ``Loan``
(write), both made from a lease of the handle (see ``_handle``), so no view
can outlive its mapping whatever the user keeps of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from . import _args
from ._errors import WaitTimeoutError, check, error_for, invalid_argument
from ._handle import Handle, get_ident
from ._lib import ffi, lib
from ._shadow import LATEST
from ._slices import Slices
from ._streams import start

if TYPE_CHECKING:
    from ._segment import Segment

_TIMEOUT = lib.SHMIFACE_ERR_TIMEOUT
_TOO_LARGE = lib.SHMIFACE_ERR_TOO_LARGE
_NOTIFY = lib.SHMIFACE_SET_NOTIFY


class Borrow:
    """One value read in place. ``view`` is a read-only memoryview of its
    bytes in shared memory, ``version`` its version, ``lost`` the values
    skipped since the version asked for. Nothing is locked: writers may
    overwrite the value, and ``release`` (also on leaving ``with``) says
    whether they did. The view stays readable after that (its mapping stays
    until the view is gone), but its bytes then belong to later values."""

    __slots__ = ("view", "version", "lost", "_handle", "_keeper")

    def __init__(self, handle: Handle, keeper: Any, length: int, version: int, lost: int) -> None:
        self.view: memoryview = memoryview(ffi.buffer(keeper, length)).toreadonly()
        self.version = version
        self.lost = lost
        self._handle = handle
        self._keeper: Optional[Any] = keeper  # the lease, for release's call

    def release(self) -> None:
        """Ends the borrow: ``OverwrittenError`` if a writer overwrote the
        value since it was borrowed (throw away what was read). Later calls
        do nothing."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            check(self._handle.call_leased(lib.shmiface_release, self.version))

    def __enter__(self) -> "Borrow":
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        try:
            self.release()
        except Exception:
            if exc_type is None:
                raise
            # The block's own exception says more than this one.

    def __repr__(self) -> str:
        return f"<shmiface.Borrow version={self.version} {len(self.view)} bytes>"


def _borrow_once(seg: "Segment", cursor: int, timeout_ms: int) -> Optional[Borrow]:
    handle = seg._handle
    me = get_ident()
    ptr = handle.acquire(me)
    try:
        version = ffi.new("uint64_t *", cursor)
        data = ffi.new("const uint8_t **")
        length = ffi.new("size_t *")
        status = lib.shmiface_borrow(ptr, version, data, length, timeout_ms)
        if status == _TIMEOUT:
            return None
        check(status)
        keeper = handle.lease(data[0])  # inside the call: close cannot destroy meanwhile
    finally:
        handle.release(me)
    new = int(version[0])
    return Borrow(handle, keeper, int(length[0]), new, 0 if cursor == LATEST else new - cursor - 1)


def borrow(seg: "Segment", after: Optional[int], timeout: Optional[float]) -> Borrow:
    """``Segment.borrow``: waits in slices, ``WaitTimeoutError`` on timeout."""
    cursor = start(after)
    slices = Slices(_args.timeout_ms(timeout))
    while True:
        step = slices.next()
        if step is None:
            raise WaitTimeoutError(f"segment {seg.name}: no value newer than version {after} in time", _TIMEOUT)
        taken = _borrow_once(seg, cursor, step)
        if taken is not None:
            return taken


class Loan:
    """The slot the segment's next value will occupy, to fill in place.
    ``buffer`` is a writable memoryview of ``capacity`` bytes in shared
    memory. ``publish(n)`` makes its first ``n`` bytes the new value;
    leaving ``with`` without publishing discards it. The loan holds the
    segment's writer lock: other writers wait, and the loaning thread's own
    sets raise ``BusyError`` until it ends, so keep it short. The thread
    that took the loan ends it."""

    __slots__ = ("buffer", "version", "_handle", "_keeper", "_thread")

    def __init__(self, handle: Handle, keeper: Any, capacity: int) -> None:
        self.buffer: memoryview = memoryview(ffi.buffer(keeper, capacity))
        self.version: Optional[int] = None
        """The version published, once it is."""
        self._handle = handle
        self._keeper: Optional[Any] = keeper  # the lease, while the loan is open
        self._thread = get_ident()

    @property
    def open(self) -> bool:
        """Whether the loan is neither published nor discarded yet."""
        return self._keeper is not None

    def _check_open(self, what: str) -> None:
        if self._keeper is None:
            raise invalid_argument(f"{what}: this loan has ended")
        if get_ident() != self._thread:
            raise invalid_argument(f"{what}: a loan is ended by the thread that took it")

    def publish(self, nbytes: int, notify: bool = False) -> int:
        """Makes the first ``nbytes`` of ``buffer`` the new value (with
        ``notify``, then wakes every waiter) and ends the loan; returns the
        version. ``TooLargeError`` past the capacity (the loan stays open);
        ``DestroyedError`` if the segment or this handle was destroyed
        meanwhile (nothing is published)."""
        self._check_open("publish")
        length = _args.unsigned("nbytes", nbytes, 64)
        handle = self._handle
        if handle.closed:
            self.discard()
            raise handle.destroyed()
        version = ffi.new("uint64_t *")
        status = handle.call_leased(lib.shmiface_publish, length, _NOTIFY if notify else 0, version)
        if status == _TOO_LARGE:
            raise error_for(status)
        self._end()  # published, or (destroyed) abandoned by the library
        check(status)
        self.version = int(version[0])
        return self.version

    def discard(self) -> None:
        """Ends the loan publishing nothing (the value stays as it was)."""
        self._check_open("discard")
        try:
            check(self._handle.call_leased(lib.shmiface_discard))
        finally:
            self._end()

    def _end(self) -> None:
        self._keeper = None
        try:
            # Writing into the slot after the loan would change a published
            # value under its readers: the buffer goes, unless the user
            # exported it further (a numpy array), which keeps the lease.
            self.buffer.release()
        except BufferError:
            pass

    def __enter__(self) -> "Loan":
        return self

    def __exit__(self, *_: object) -> None:
        if self._keeper is not None:
            self.discard()

    def __del__(self) -> None:
        # A loan left open holds the writer lock; only its thread can end it.
        if getattr(self, "_keeper", None) is not None and get_ident() == self._thread:
            try:
                self.discard()
            except Exception:  # noqa: BLE001 - nothing to report to at collection
                pass

    def __repr__(self) -> str:
        state = "open" if self._keeper is not None else f"ended, version {self.version}"
        return f"<shmiface.Loan {len(self.buffer) if self._keeper is not None else 0} bytes {state}>"


def loan(seg: "Segment") -> Loan:
    """``Segment.loan``: waits while another writer holds the lock (the
    library's loan has no timeout; writers hold the lock briefly)."""
    handle = seg._handle
    me = get_ident()
    ptr = handle.acquire(me)
    try:
        data = ffi.new("uint8_t **")
        capacity = ffi.new("size_t *")
        check(lib.shmiface_loan(ptr, data, capacity))
        keeper = handle.lease(data[0])
    finally:
        handle.release(me)
    return Loan(handle, keeper, int(capacity[0]))
