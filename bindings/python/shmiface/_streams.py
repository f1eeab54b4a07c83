"""Reading a segment's values in order: ``Message``, ``next`` and ``values``.

A reader's only state is the version it read last (the library registers
readers nowhere), so it lives here, in the caller's hands: ``next`` takes
it and the Message carries the new one. A wait that is given up (timeout,
Ctrl-C, a cancelled task) therefore never loses a value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, NamedTuple, Optional

from . import _args, _raw
from ._errors import DestroyedError, error_for, invalid_argument
from ._handle import get_ident
from ._lib import ffi, lib
from ._shadow import LATEST
from ._slices import Slices

if TYPE_CHECKING:
    from ._segment import Segment

_OK = lib.SHMIFACE_OK
_TIMEOUT = lib.SHMIFACE_ERR_TIMEOUT
_TOO_SMALL = lib.SHMIFACE_ERR_BUFFER_TOO_SMALL
_next_into = _raw.next_into
_pool = _raw.pool
_unpack = ffi.unpack


class Message(NamedTuple):
    """One value of a segment, as ``next`` returns it."""

    version: int
    """The version its set gave it (1, 2, 3, ... with no gap; 0: never set)."""
    data: bytes
    """Its bytes (a copy: the segment may be set again at once)."""
    lost: int
    """Values set after the version asked for and before this one, and
    overwritten unread (0 when none, and when no version was asked for)."""


def start(after: Optional[int]) -> int:
    """The library's cursor for ``after`` (None: the current value)."""
    if after is None:
        return LATEST
    value = _args.unsigned("after", after, 64)
    if value == LATEST:
        raise invalid_argument("after must be a version below 2**64 - 1 (None reads the current value)")
    return value


def read_into(handle: Any, cursor: int, out: _raw.Output, version: Any, timeout_ms: int) -> Optional[bytes]:
    """One ``shmiface_next`` from ``cursor`` into ``out``, growing it as the
    value needs, and the new version into the cell ``version``: the bytes,
    or None on timeout."""
    me = get_ident()
    ptr = handle.acquire(me)
    try:
        version[0] = cursor
        status = _next_into(ptr, version, out.buf, out.size, out.length, timeout_ms)
        while status == _TOO_SMALL:
            # The value exists, so a larger buffer needs no wait.
            out.grow(out.length[0])
            status = _next_into(ptr, version, out.buf, out.size, out.length, 0)
        if status == _OK:
            data: bytes = _unpack(out.buf, out.length[0])
            return data
        if status == _TIMEOUT:
            return None
        raise error_for(status)
    finally:
        handle.release(me)


def read_one(seg: "Segment", cursor: int, timeout_ms: int) -> Optional[Message]:
    """One ``shmiface_next`` from ``cursor`` waiting up to ``timeout_ms``
    (one slice): the Message, or None on timeout."""
    try:
        out = _pool.pop()
    except IndexError:
        out = _raw.Output()
    version = ffi.new("uint64_t *")
    data = read_into(seg._handle, cursor, out, version, timeout_ms)
    if data is None or out.size <= _raw.POOL_AT_MOST:
        _pool.append(out)
    if data is None:
        return None
    new = int(version[0])
    return Message(new, data, 0 if cursor == LATEST else new - cursor - 1)


def next_message(seg: "Segment", after: Optional[int], timeout: Optional[float]) -> Optional[Message]:
    """``Segment.next``: waits in slices so Ctrl-C and destroy are seen."""
    cursor = start(after)
    slices = Slices(_args.timeout_ms(timeout))
    while True:
        step = slices.next()
        if step is None:
            return None
        message = read_one(seg, cursor, step)
        if message is not None:
            return message


def first_cursor(seg: "Segment", after: Optional[int]) -> Any:
    """Where an iteration over values starts: (cursor, the current value to
    yield first or None). With ``after`` None that is the current value,
    unless the segment was never set (version 0 is no value)."""
    if after is not None:
        return start(after), None
    current = read_one(seg, LATEST, 0)
    assert current is not None  # LATEST never waits
    return current.version, current if current.version else None


def values(seg: "Segment", after: Optional[int], timeout: Optional[float]) -> Iterator[Message]:
    """``Segment.values``: each value in order; ends after ``timeout``
    seconds without one, or when the segment or this handle is destroyed."""
    try:
        cursor, first = first_cursor(seg, after)
    except DestroyedError:
        return
    if first is not None:
        yield first
    # A reader that keeps up mostly finds its next value already kept: one
    # poll with this generator's own buffer and version cell reads it, and
    # only an empty poll goes on to the waiting path, in slices.
    handle = seg._handle
    out = _raw.Output()
    version = ffi.new("uint64_t *")
    while True:
        try:
            data = read_into(handle, cursor, out, version, 0)
        except DestroyedError:
            return
        if data is not None:
            new = int(version[0])
            yield Message(new, data, new - cursor - 1)
            cursor = new
            continue
        try:
            message = next_message(seg, cursor, timeout)
        except DestroyedError:
            return
        if message is None:
            return
        yield message
        cursor = message.version
