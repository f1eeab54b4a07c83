"""The hot methods of ``Segment``: ``get_bytes``, ``get_string``,
``set_string`` and ``set_string_notify``.

Each inlines the handle borrow of ``_handle`` and, for reads, the buffer
pool of ``_raw``, and each is made by a factory here rather than calling a
shared helper, because on a 128-byte value every Python call is a tenth of
the cost of a set or get.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Union

from . import _raw
from ._errors import error_for
from ._handle import get_ident
from ._lib import ffi, lib

if TYPE_CHECKING:
    from ._segment import Buffer, Segment

_OK = lib.SHMIFACE_OK
_TOO_SMALL = lib.SHMIFACE_ERR_BUFFER_TOO_SMALL
_NULL = ffi.NULL
_unpack = ffi.unpack
_get_string = _raw.get_string
_set_bytes = _raw.set_bytes
_pool = _raw.pool
_POOL_AT_MOST = _raw.POOL_AT_MOST


def as_chars(data: Union[str, "Buffer"]) -> Any:
    """``data`` as the ``char *`` calls of ``_raw`` take it: bytes as they
    are, a str encoded, any other buffer wrapped without a copy."""
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        return data.encode("utf-8")
    return ffi.from_buffer("char[]", data)


def _read_larger(ptr: Any, out: _raw.Output, status: int) -> None:
    """After a read into ``out`` failed with ``status``: grows ``out`` until
    the value fits, or raises the read's error."""
    while status != _OK:
        if status != _TOO_SMALL:
            raise error_for(status)
        out.grow(out.length[0] + 1)
        status = _get_string(ptr, out.buf, out.size, out.length)


def _not_text(value: object) -> TypeError:
    return TypeError(f"value must be a str, not {type(value).__name__}")


def reader(name: str, text: bool, doc: str) -> Callable[["Segment"], Any]:
    """``get_bytes`` (``text`` False) or ``get_string``."""

    def read(self: "Segment") -> Any:
        handle = self._handle
        calls = handle.calls
        me = get_ident()
        calls.append(me)  # register, then look: see _handle
        try:
            ptr = handle.ptr
            if ptr is None:
                raise handle.destroyed()
            try:
                out = _pool.pop()
            except IndexError:
                out = _raw.Output()
            status = _get_string(ptr, out.buf, out.size, out.length)
            if status != _OK:
                _read_larger(ptr, out, status)
            value: bytes = _unpack(out.buf, out.length[0])
            if out.size <= _POOL_AT_MOST:
                _pool.append(out)
            return value.decode("utf-8") if text else value
        finally:
            calls.remove(me)
            if handle.ptr is None:
                handle.released_while_closing()

    _present_as_method(read, name, doc, {"return": "str" if text else "bytes"})
    return read


def text_writer(name: str, flags: int, doc: str) -> Callable[["Segment", str], None]:
    """``set_string`` or ``set_string_notify`` (``flags`` 0 or SET_NOTIFY)."""

    def write(self: "Segment", value: str) -> None:
        if not isinstance(value, str):
            raise _not_text(value)
        data = value.encode("utf-8")
        handle = self._handle
        calls = handle.calls
        me = get_ident()
        calls.append(me)  # register, then look: see _handle
        try:
            ptr = handle.ptr
            if ptr is None:
                raise handle.destroyed()
            status = _set_bytes(ptr, data, len(data), flags, _NULL)
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
