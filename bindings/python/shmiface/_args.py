"""Turns Python arguments into C ones, refusing what C could not hold.

cffi raises ``OverflowError`` or ``TypeError`` for an int that does not fit
its C type; these checks raise ``InvalidArgumentError`` (a ``ValueError``)
instead, the exception the library itself uses for a bad argument.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from ._errors import InvalidNameError, invalid_argument
from ._lib import lib

_NUL_NAME = lib.SHMIFACE_ERR_INVALID_NAME


def name(value: str) -> bytes:
    """A segment name as the NUL-terminated UTF-8 the library reads; the
    library checks the rule, this only refuses what C cannot even carry."""
    if not isinstance(value, str):
        raise InvalidNameError(f"a segment name is a str, not {type(value).__name__}", _NUL_NAME)
    if "\0" in value:
        raise InvalidNameError(f"invalid segment name {value!r}: it contains NUL", _NUL_NAME)
    return value.encode("utf-8")


def positive(label: str, value: Any, bits: int) -> int:
    """``value`` if it is an int in [1, 2**bits), else ``InvalidArgumentError``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 1 << bits:
        raise invalid_argument(f"{label} must be an int in [1, 2**{bits}), not {value!r}")
    return value


def unsigned(label: str, value: Any, bits: int) -> int:
    """``value`` if it is an int in [0, 2**bits), else ``InvalidArgumentError``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << bits:
        raise invalid_argument(f"{label} must be an int in [0, 2**{bits}), not {value!r}")
    return value


def timeout_ms(seconds: Optional[float]) -> int:
    """Seconds (None or infinity: forever) as the library's milliseconds
    (-1: forever), rounded up so a wait never ends early."""
    if seconds is None:
        return -1
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        raise invalid_argument(f"timeout must be None or seconds >= 0, not {seconds!r}") from None
    if math.isnan(value) or value < 0:
        raise invalid_argument(f"timeout must be None or seconds >= 0, not {seconds!r}")
    if math.isinf(value) or value >= 2**53:
        return -1
    return math.ceil(value * 1000)
