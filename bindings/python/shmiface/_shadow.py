"""A second handle on the same mapping, so an owner's destroy can take
effect while views into the segment are still open.

The library keeps a mapping while any handle of this process on it lives,
and the owner's ``shmiface_destroy`` is what marks the segment destroyed,
wakes every waiter and unlinks the name. A view must keep its mapping, yet
other processes should not wait for this one's last view to see the owner
go. So when the owner destroys with views open, the package attaches a
*shadow* handle (attaching a name already mapped here shares that mapping),
destroys the owner's handle at once, and keeps the shadow until the last
view is gone.

The name may by then refer to another object (unlinked and made again),
so the shadow is kept only if it provably shares the owner's mapping: both
handles borrow their current value and must point at the same address,
which two live mappings cannot share.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

from ._lib import ffi, lib

_OK = lib.SHMIFACE_OK
LATEST = (1 << 64) - 1  # SHMIFACE_LATEST (UINT64_MAX: not a literal cffi can read)
_ATTEMPTS = 3  # a set between the two borrows moves the value; try again


def _current(seg: Any) -> Optional[Tuple[int, int]]:
    """The version and address of ``seg``'s current value, or None."""
    version = ffi.new("uint64_t *", LATEST)
    data = ffi.new("const uint8_t **")
    if lib.shmiface_borrow(seg, version, data, ffi.NULL, 0) != _OK:
        return None
    lib.shmiface_release(seg, version[0])
    return int(version[0]), int(ffi.cast("uintptr_t", data[0]))


def _same_mapping(a: Any, b: Any) -> bool:
    for _ in range(_ATTEMPTS):
        first, second = _current(a), _current(b)
        if first is None or second is None:
            return False
        if first == second:
            return True
    return False


def shadow_of(ptr: Any, name: str) -> Optional[Any]:
    """A new handle sharing ``ptr``'s mapping, or None if there is none to be had."""
    out = ffi.new("shmiface_segment **")
    if lib.shmiface_get_instance(name.encode("utf-8"), out) != _OK:
        return None
    shadow = out[0]
    if _same_mapping(ptr, shadow):
        return shadow
    lib.shmiface_destroy(shadow)
    return None
