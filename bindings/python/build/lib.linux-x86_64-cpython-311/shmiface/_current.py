"""This process's current instance: the last segment made by
``init_instance``/``get_instance`` and not yet destroyed, for the seed's
module-level ``get_string``/``set_string``/``set_string_notify``."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, List

if TYPE_CHECKING:
    from ._segment import Segment

_lock = threading.Lock()
_made: List["weakref.ref[Segment]"] = []


def remember(segment: "Segment") -> None:
    with _lock:
        _made.append(weakref.ref(segment))


def forget(segment: "Segment") -> None:
    with _lock:
        _made[:] = [r for r in _made if r() is not None and r() is not segment]


def current() -> "Segment":
    with _lock:
        while _made:
            segment = _made[-1]()
            if segment is not None:
                return segment
            _made.pop()
    from ._errors import NotFoundError

    raise NotFoundError("no current instance: call init_instance or get_instance first", 4)
