"""Finds and loads ``libshmiface`` with cffi in ABI mode (no compiler).

Looks, in order, at the ``SHMIFACE_LIB`` environment variable, a copy
shipped inside this package, and the system's search path
(``libshmiface.so.1``, then ``libshmiface.so``). The declarations come from
``shmiface.h`` (shipped beside this file in a wheel, ``include/`` in a
checkout) through ``_cdef``. The library is opened with
``RTLD_NOW | RTLD_NODELETE``: every symbol resolves up front, and the code
stays mapped for as long as any handle might still call it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, List, Optional, Tuple

from cffi import FFI

from ._cdef import cdef_from_header

_HERE = Path(__file__).resolve().parent
# A wheel carries the header beside the code; a checkout has it in include/.
_HEADERS = (_HERE / "shmiface.h", _HERE.parents[2] / "include" / "shmiface.h")
_BUNDLED = ("libshmiface.so.1", "libshmiface.so")
_SYSTEM = ("libshmiface.so.1", "libshmiface.so")
# A call of the newest minor version this package uses (ABI 1.1: streams).
_NEWEST_CALL = "shmiface_create"


def _header_text() -> str:
    for path in _HEADERS:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise ImportError(
        "shmiface: the C header shmiface.h was not found; looked at "
        + ", ".join(str(p) for p in _HEADERS)
    )


def _candidates() -> List[Tuple[str, Optional[str]]]:
    """Every place to look, in order: (place, why it is skipped or None)."""
    places: List[Tuple[str, Optional[str]]] = []
    env = os.environ.get("SHMIFACE_LIB")
    places.append((env, None) if env else ("$SHMIFACE_LIB", "unset"))
    for name in _BUNDLED:
        bundled = _HERE / name
        places.append((str(bundled), None if bundled.exists() else "not present"))
    places.extend((name, None) for name in _SYSTEM)
    return places


def _load() -> Tuple[FFI, Any, str]:
    ffi = FFI()
    ffi.cdef(cdef_from_header(_header_text()))
    flags = ffi.RTLD_NOW | getattr(ffi, "RTLD_NODELETE", 0)
    tried: List[str] = []
    for candidate, skipped in _candidates():
        if skipped:
            tried.append(f"{candidate} ({skipped})")
            continue
        try:
            lib = ffi.dlopen(candidate, flags)
        except OSError as exc:
            tried.append(f"{candidate} ({exc})")
            continue
        try:
            version = lib.shmiface_abi_version()
        except AttributeError as exc:
            tried.append(f"{candidate} (not libshmiface: {exc})")
            continue
        if version != lib.SHMIFACE_ABI_VERSION:
            tried.append(
                f"{candidate} (ABI version {version}, this package needs {lib.SHMIFACE_ABI_VERSION})"
            )
            continue
        if not hasattr(lib, _NEWEST_CALL):
            # Refused here rather than failing at the first stream call.
            tried.append(f"{candidate} (ABI 1.0, without {_NEWEST_CALL}: this package needs ABI 1.1)")
            continue
        return ffi, lib, candidate
    raise ImportError("shmiface: could not load libshmiface; looked at: " + "; ".join(tried))


ffi, lib, path = _load()
