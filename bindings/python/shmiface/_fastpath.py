"""The hot methods of ``Segment``: ``get_bytes``, ``get_string``,
``set_string`` and ``set_string_notify``.

Each inlines the handle borrow of ``_handle`` and, for reads, the buffer
pool of ``_raw``, and each is made by a factory here rather than calling a
shared helper, because on a 128-byte value every Python call is a tenth of
the cost of a set or get.

Reads keep the value they read last. Each Segment holds ``_kept``, one
tuple (version, bytes, str or None), and the probe of its handle
(``shmiface_get_probe``): the addresses of the segment's current version
and of the word that marks it destroyed, in the mapping. A read whose
version word still equals the kept version, on a segment not destroyed,
returns the kept object without calling the library: every set changes the
version, and one version is never that of two values, so a kept value is
never stale. Any other read calls ``shmiface_next`` with
``SHMIFACE_LATEST``, which gives the value and its version together, and
keeps both (the str is decoded, as UTF-8, and kept by the first ``get_string``
of that version; bytes that are not UTF-8 raise each time and are kept as
bytes only). The words are read only inside a registered call whose
``ptr`` is set, so the mapping is alive: ``close`` clears ``ptr`` first and
destroys only after the last call, and a shadow handle (``_shadow``) is
never read through here. One tuple holds the three, replaced whole, so
threads reading at once never pair one version with another's value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Tuple, Union

from . import _raw
from ._errors import error_for
from ._handle import get_ident
from ._lib import ffi, lib
from ._shadow import LATEST

if TYPE_CHECKING:
    from ._segment import Buffer, Segment

_OK = lib.SHMIFACE_OK
_TOO_SMALL = lib.SHMIFACE_ERR_BUFFER_TOO_SMALL
_NOTIFY = lib.SHMIFACE_SET_NOTIFY
_NULL = ffi.NULL
_unpack = ffi.unpack
# str.encode unbound: UTF-8 (its default, which is faster to ask for than by
# name), and a TypeError for anything but a str, in one call.
_encode = str.encode
_next_into = _raw.next_into
_set_bytes = _raw.set_bytes
_pool = _raw.pool
_POOL_AT_MOST = _raw.POOL_AT_MOST
KEEP_AT_MOST = _raw.POOL_AT_MOST
"""The longest value a Segment keeps after reading it (longer ones are read
anew each time), so one large read does not pin its memory for good."""

Kept = Tuple[int, bytes, Any]
NOTHING_KEPT: Kept = (-1, b"", None)
"""``_kept`` before the first read: -1 is no version, so it never matches."""


class Probe:
    """The two words of a handle's probe, and the bit that marks destroyed.
    With no ``shmiface_get_probe`` in the library (an older ABI 1.1 build),
    private words and a limit of -1: nothing is kept, every read calls."""

    __slots__ = ("version", "state", "destroyed_bit", "keep_at_most")

    def __init__(self, ptr: Any) -> None:
        get_probe = getattr(lib, "shmiface_get_probe", None)
        probe = ffi.new("shmiface_probe *")
        status = _OK if get_probe is None else get_probe(ptr, probe, ffi.sizeof("shmiface_probe"))
        if status != _OK:
            raise error_for(status)
        if get_probe is None:
            self.version = ffi.new("uint64_t *")
            self.state = ffi.new("uint64_t *")
            self.destroyed_bit = 0
            self.keep_at_most = -1
        else:
            self.version = probe.version
            self.state = probe.state
            self.destroyed_bit = int(probe.destroyed_bit)
            self.keep_at_most = KEEP_AT_MOST


def as_chars(data: Union[str, "Buffer"]) -> Any:
    """``data`` as the ``char *`` calls of ``_raw`` take it: bytes as they
    are, a str encoded, any other buffer wrapped without a copy."""
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        return data.encode("utf-8")
    return ffi.from_buffer("char[]", data)


def _read_larger(ptr: Any, out: _raw.Output, status: int) -> None:
    """After ``shmiface_next`` (LATEST) into ``out`` failed with ``status``:
    grows ``out`` until the value fits, or raises the read's error."""
    while status != _OK:
        if status != _TOO_SMALL:
            raise error_for(status)
        out.grow(out.length[0])
        out.version[0] = LATEST  # left alone by BUFFER_TOO_SMALL; set again all the same
        status = _next_into(ptr, out.version, out.buf, out.size, out.length, 0)


def _read_latest(ptr: Any) -> Tuple[int, bytes]:
    """The current value and its version, read together (``shmiface_next``
    from LATEST), through a pooled buffer."""
    try:
        out = _pool.pop()
    except IndexError:
        out = _raw.Output()
    version = out.version
    version[0] = LATEST
    status = _next_into(ptr, version, out.buf, out.size, out.length, 0)
    if status != _OK:
        _read_larger(ptr, out, status)
    data: bytes = _unpack(out.buf, out.length[0])
    if out.size <= _POOL_AT_MOST:
        _pool.append(out)
    return version[0], data


def _not_text(value: object) -> TypeError:
    return TypeError(f"value must be a str, not {type(value).__name__}")


def reader(name: str, text: bool, doc: str) -> Callable[["Segment"], Any]:
    """``get_bytes`` (``text`` False) or ``get_string``."""

    def read_bytes(self: "Segment") -> Any:
        handle = self._handle
        calls = handle.calls
        me = get_ident()
        calls.append(me)  # register, then look: see _handle
        try:
            ptr = handle.ptr
            if ptr is None:
                raise handle.destroyed()
            kept = self._kept
            probe = self._probe
            if kept[0] == probe.version[0] and not probe.state[0] & probe.destroyed_bit:
                return kept[1]
            version, data = _read_latest(ptr)
            if len(data) <= probe.keep_at_most:
                self._kept = (version, data, None)
            return data
        finally:
            calls.remove(me)
            if handle.ptr is None:
                handle.released_while_closing()

    def read_text(self: "Segment") -> Any:
        handle = self._handle
        calls = handle.calls
        me = get_ident()
        calls.append(me)  # register, then look: see _handle
        try:
            ptr = handle.ptr
            if ptr is None:
                raise handle.destroyed()
            kept = self._kept
            probe = self._probe
            if kept[0] == probe.version[0] and not probe.state[0] & probe.destroyed_bit:
                value = kept[2]
                if value is None:
                    # Bytes kept by get_bytes, or not UTF-8 (which raises again).
                    value = kept[1].decode()
                    self._kept = (kept[0], kept[1], value)
                return value
            version, data = _read_latest(ptr)
            keep = len(data) <= probe.keep_at_most
            try:
                value = data.decode()
            except UnicodeDecodeError:
                if keep:
                    self._kept = (version, data, None)  # get_bytes may use them
                raise
            if keep:
                self._kept = (version, data, value)
            return value
        finally:
            calls.remove(me)
            if handle.ptr is None:
                handle.released_while_closing()

    read = read_text if text else read_bytes
    _present_as_method(read, name, doc, {"return": "str" if text else "bytes"})
    return read


def text_writer(name: str, flags: int, doc: str) -> Callable[["Segment", str], None]:
    """``set_string`` or ``set_string_notify`` (``flags`` 0 or SET_NOTIFY).
    A value with no NUL goes through the two-argument string setter; one
    with a NUL (which a C string cannot hold) through ``shmiface_set_bytes``."""
    set_c_string = _raw.set_string_notify if flags == _NOTIFY else _raw.set_string

    def write(self: "Segment", value: str) -> None:
        try:
            data = _encode(value)
        except TypeError:
            raise _not_text(value) from None
        handle = self._handle
        calls = handle.calls
        me = get_ident()
        calls.append(me)  # register, then look: see _handle
        try:
            ptr = handle.ptr
            if ptr is None:
                raise handle.destroyed()
            # `0 in data` is a memchr; `b"\0" in data` would cost ten times
            # as much (CPython first tries to read the bytes as an int).
            if 0 in data:
                status = _set_bytes(ptr, data, len(data), flags, _NULL)
            else:
                status = set_c_string(ptr, data)
        finally:
            calls.remove(me)
            if handle.ptr is None:
                handle.released_while_closing()
        if status != _OK:
            raise error_for(status)

    _present_as_method(write, name, doc, {"value": "str", "return": "None"})
    return write


def _present_as_method(fn: Callable[..., Any], name: str, doc: str, annotations: Dict[str, str]) -> None:
    """Makes ``help()`` and tracebacks show ``fn`` as ``Segment.<name>``."""
    fn.__name__, fn.__qualname__, fn.__module__ = name, f"Segment.{name}", "shmiface._segment"
    fn.__doc__ = doc
    fn.__annotations__ = annotations
