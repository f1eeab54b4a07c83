"""Finds and loads ``libshmiface`` with cffi in ABI mode (no compiler).

Looks, in order, at the ``SHMIFACE_LIB`` environment variable, a copy
shipped inside this package, and the system's search path
(``libshmiface.so.1``, then ``libshmiface.so``). The library is opened with
``RTLD_NOW | RTLD_NODELETE``: every symbol resolves up front, and the code
stays mapped for as long as any handle might still call it.

The declarations: a wheel (built by maturin in its cffi mode) carries them
as ``_native/ffi.py``, which maturin makes from ``include/shmiface_ffi.h``,
beside the library ``_native/lib_native.so``; a checkout has
``include/shmiface.h``, which ``_cdef`` turns into a cdef. Either way a
function added to the C ABI appears here with no second edit. maturin's
``_native/__init__.py`` is never imported: it would load the bundled
library even when ``SHMIFACE_LIB`` names another.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, List, Optional, Tuple

from cffi import FFI

from ._cdef import cdef_from_header

_HERE = Path(__file__).resolve().parent
_NATIVE = _HERE / "_native"
# A checkout has the header in include/, two levels above the package.
_HEADER = _HERE.parents[2] / "include" / "shmiface.h"
_BUNDLED = (_NATIVE / "lib_native.so",)
_SYSTEM = ("libshmiface.so.1", "libshmiface.so")
# A call of the newest minor version this package uses (ABI 1.1: streams).
_NEWEST_CALL = "shmiface_create"


def _declarations() -> Any:
    """An FFI object that knows every declaration of the C ABI."""
    shipped = _NATIVE / "ffi.py"
    if shipped.is_file():
        spec = importlib.util.spec_from_file_location("shmiface._native_ffi", shipped)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.ffi
    if _HEADER.is_file():
        ffi = FFI()
        ffi.cdef(cdef_from_header(_HEADER.read_text(encoding="utf-8")))
        return ffi
    raise ImportError(
        f"shmiface: no declarations of the C ABI: neither {shipped} (a wheel's) nor {_HEADER} (a checkout's)"
    )


def _candidates() -> List[Tuple[str, Optional[str]]]:
    """Every place to look, in order: (place, why it is skipped or None)."""
    places: List[Tuple[str, Optional[str]]] = []
    env = os.environ.get("SHMIFACE_LIB")
    places.append((env, None) if env else ("$SHMIFACE_LIB", "unset"))
    for bundled in _BUNDLED:
        places.append((str(bundled), None if bundled.exists() else "not present"))
    places.extend((name, None) for name in _SYSTEM)
    return places


def _load() -> Tuple[FFI, Any, str]:
    ffi = _declarations()
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
