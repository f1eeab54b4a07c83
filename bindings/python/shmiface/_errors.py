"""The exception classes, and ``check``, which turns a status code from the
library into the right exception carrying the library's own detail."""

from __future__ import annotations

from typing import Any, Dict, Type

from ._lib import ffi, lib


class ShmifaceError(Exception):
    """A shmiface call failed. ``status`` is the C status code; the message
    is the library's detail (``shmiface_last_error``)."""

    status: int

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> Any:
        # Keeps .status across pickling (multiprocessing, concurrent.futures).
        return (type(self), (str(self), self.status))


class InvalidArgumentError(ShmifaceError, ValueError):
    """A NULL or otherwise invalid argument (status 1 or 3)."""


class InvalidNameError(ShmifaceError, ValueError):
    """The segment name breaks the rule: 1-200 of [A-Za-z0-9._-], no leading '.'."""


class NotFoundError(ShmifaceError, FileNotFoundError):
    """No segment with that name."""


class ExistsError(ShmifaceError, FileExistsError):
    """A segment of that name has a live owner."""


class TooLargeError(ShmifaceError, ValueError):
    """The value is longer than the segment's capacity; the old value stays."""


class BufferTooSmallError(ShmifaceError, ValueError):
    """The buffer given to ``read_into`` cannot hold the value (status 7)."""


class WaitTimeoutError(ShmifaceError, TimeoutError):
    """A wait ran out of time (``Segment.wait`` returns False instead)."""


class IncompatibleError(ShmifaceError):
    """Not a shmiface segment, another layout version, or a corrupt header."""


class PermissionDeniedError(ShmifaceError, PermissionError):
    """The OS refused access (or the handle is read-only)."""


class DestroyedError(ShmifaceError):
    """The owner destroyed the segment; the handle is inert."""


class ConflictError(ShmifaceError):
    """``compare_and_set`` found another version."""


class NotReadyError(ShmifaceError):
    """The segment was still being initialised and did not become ready in time."""


class NoSpaceError(ShmifaceError, OSError):
    """The shared-memory filesystem has no room for the segment."""


class OverwrittenError(ShmifaceError):
    """A borrowed value was overwritten while it was borrowed: what was read
    through the borrow may be wrong (status 17)."""


class BusyError(ShmifaceError):
    """This thread holds an open loan on the segment, and the call would wait
    for the loan's own writer lock (status 19)."""


_BY_STATUS: Dict[int, Type[ShmifaceError]] = {
    lib.SHMIFACE_ERR_NULL_ARGUMENT: InvalidArgumentError,
    lib.SHMIFACE_ERR_INVALID_NAME: InvalidNameError,
    lib.SHMIFACE_ERR_INVALID_ARGUMENT: InvalidArgumentError,
    lib.SHMIFACE_ERR_NOT_FOUND: NotFoundError,
    lib.SHMIFACE_ERR_EXISTS: ExistsError,
    lib.SHMIFACE_ERR_TOO_LARGE: TooLargeError,
    lib.SHMIFACE_ERR_BUFFER_TOO_SMALL: BufferTooSmallError,
    lib.SHMIFACE_ERR_TIMEOUT: WaitTimeoutError,
    lib.SHMIFACE_ERR_INCOMPATIBLE: IncompatibleError,
    lib.SHMIFACE_ERR_PERMISSION: PermissionDeniedError,
    lib.SHMIFACE_ERR_DESTROYED: DestroyedError,
    lib.SHMIFACE_ERR_CONFLICT: ConflictError,
    lib.SHMIFACE_ERR_NOT_READY: NotReadyError,
    lib.SHMIFACE_ERR_NO_SPACE: NoSpaceError,
    lib.SHMIFACE_ERR_OVERWRITTEN: OverwrittenError,
    lib.SHMIFACE_ERR_BUSY: BusyError,
}


def last_error() -> str:
    """The detail of this thread's last failed library call."""
    size = lib.shmiface_last_error(ffi.NULL, 0)
    buf = ffi.new("char[]", size + 1)
    lib.shmiface_last_error(buf, size + 1)
    return str(ffi.string(buf).decode("utf-8", "replace"))


def error_for(status: int) -> ShmifaceError:
    """The exception for a failing status, with the library's detail."""
    cls = _BY_STATUS.get(status, ShmifaceError)
    detail = last_error() or ffi.string(lib.shmiface_status_str(status)).decode()
    return cls(detail, status)


def invalid_argument(message: str) -> InvalidArgumentError:
    """An ``InvalidArgumentError`` for an argument refused before the call."""
    return InvalidArgumentError(message, lib.SHMIFACE_ERR_INVALID_ARGUMENT)


def check(status: int) -> None:
    """Raises the exception for ``status`` unless it is SHMIFACE_OK."""
    if status != lib.SHMIFACE_OK:
        raise error_for(status)
