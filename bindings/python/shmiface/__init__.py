"""shmiface: a named value in POSIX shared memory, shared live with C, C++
and any other language, with notifications that wake every waiter.

    import shmiface
    with shmiface.init_instance("camera", capacity=1 << 20) as seg:
        seg.set_string_notify("hello")        # wakes every waiter
    other = shmiface.get_instance("camera")   # in another process
    other.wait(timeout=1.0); other.get_string()

A segment made with ``history=N`` keeps its last N values, so readers can
take every value in order (``next``, ``values``, ``values_async``) and know
exactly how many they missed; ``borrow`` and ``loan`` read and write in
place in shared memory, with no copy.

The package loads ``libshmiface`` with cffi in ABI mode: no compiler is
needed, and every call is the C library's own.
"""

from __future__ import annotations

from typing import Any, Optional

from . import _args, _current
from ._errors import (
    BufferTooSmallError,
    BusyError,
    ConflictError,
    DestroyedError,
    ExistsError,
    IncompatibleError,
    InvalidArgumentError,
    InvalidNameError,
    NoSpaceError,
    NotFoundError,
    NotReadyError,
    OverwrittenError,
    PermissionDeniedError,
    ShmifaceError,
    TooLargeError,
    WaitTimeoutError,
    check,
)
from ._lib import ffi as _ffi
from ._lib import lib as _lib
from ._lib import path as library_path
from ._segment import Info, Segment
from ._streams import Message
from ._views import Borrow, Loan

__all__ = [
    "ABI_VERSION",
    "Borrow",
    "BufferTooSmallError",
    "BusyError",
    "ConflictError",
    "DestroyedError",
    "ExistsError",
    "IncompatibleError",
    "Info",
    "InvalidArgumentError",
    "InvalidNameError",
    "Loan",
    "Message",
    "NoSpaceError",
    "NotFoundError",
    "NotReadyError",
    "OverwrittenError",
    "PermissionDeniedError",
    "Segment",
    "ShmifaceError",
    "TooLargeError",
    "WaitTimeoutError",
    "get_instance",
    "get_string",
    "init_instance",
    "library_path",
    "library_version",
    "set_spin_ns",
    "set_string",
    "set_string_notify",
    "spin_ns",
    "unlink",
]

ABI_VERSION: int = _lib.SHMIFACE_ABI_VERSION
"""The C ABI version this package speaks."""

__version__: str = _ffi.string(_lib.shmiface_version()).decode()


def _made(out: Any, name: str) -> Segment:
    segment = Segment(out[0], name)
    _current.remember(segment)
    return segment


def init_instance(
    name: str,
    capacity: Optional[int] = None,
    mode: Optional[int] = None,
    persistent: bool = False,
    history: Optional[int] = None,
) -> Segment:
    """Creates the segment ``name`` and returns its owner's handle.

    ``name``: 1 to 200 of ``[A-Za-z0-9._-]``, not starting with ``.``
    (``InvalidNameError``); it is ``/dev/shm/<name>``.
    ``capacity``: bytes one value may hold (default 128, at most 1 GiB;
    0 or less raises ``InvalidArgumentError``).
    ``mode``: permission bits (default 0o600), exact whatever the umask.
    ``persistent``: the owner's destroy leaves the segment in place.
    ``history``: values kept readable (default 1, only the current one; at
    most 65536), for readers that take every value in order (``next``).
    A segment whose owner died is taken over (its values kept when the
    capacity and history match); one with a live owner raises ``ExistsError``.
    """
    # Always shmiface_create, history or not: with history 1 it is exactly
    # shmiface_init_instance, and its options say their own size, so a
    # later library can grow them without another code path here.
    c_name = _args.name(name)
    options = _ffi.new("shmiface_create_options *")
    if capacity is not None:
        options.capacity = _args.positive("capacity", capacity, 64)
    if mode is not None:
        options.mode = _args.positive("mode", mode, 32)
    if history is not None:
        options.history = _args.positive("history", history, 32)
    options.flags = _lib.SHMIFACE_PERSISTENT if persistent else 0
    out = _ffi.new("shmiface_segment **")
    check(_lib.shmiface_create(c_name, options, _ffi.sizeof("shmiface_create_options"), out))
    return _made(out, name)


def get_instance(name: str) -> Segment:
    """Attaches to the existing segment ``name`` (``NotFoundError`` if there
    is none; read-only if its mode lets this process only read)."""
    out = _ffi.new("shmiface_segment **")
    check(_lib.shmiface_get_instance(_args.name(name), out))
    return _made(out, name)


def unlink(name: str) -> None:
    """Removes the name (stale-segment cleanup); existing handles keep working."""
    check(_lib.shmiface_unlink(_args.name(name)))


def get_string() -> str:
    """The value of this process's current instance."""
    return _current.current().get_string()


def set_string(value: str) -> None:
    """Sets the value of this process's current instance."""
    _current.current().set_string(value)


def set_string_notify(value: str) -> None:
    """Sets the value of this process's current instance and wakes every waiter."""
    _current.current().set_string_notify(value)


def set_spin_ns(ns: int) -> None:
    """Sets how long a waiter in this process spins before sleeping (0: never)."""
    check(_lib.shmiface_set_spin_ns(_args.unsigned("spin budget", ns, 64)))


def spin_ns() -> int:
    """The current spin budget of this process, in nanoseconds."""
    return int(_lib.shmiface_spin_ns())


def library_version() -> str:
    """The version of the loaded libshmiface."""
    return __version__
