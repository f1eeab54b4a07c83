"""Blocking waits cut into short library waits.

Every blocking call of the package (``wait``, ``next``, ``borrow``) waits in
slices of at most ``SLICE_MS`` rather than in one long library wait, so that
Ctrl-C (Python runs signal handlers only between calls), task cancellation
and a destroy from another thread are seen promptly. Each slice is a real
futex wait in the library, not a poll.
"""

from __future__ import annotations

import time
from typing import Optional

SLICE_MS = 100


class Slices:
    """Splits a wait of ``total_ms`` (-1: forever) into slices of at most
    ``SLICE_MS``; the first slice always runs, so a timeout of 0 polls once."""

    __slots__ = ("_deadline", "_first")

    def __init__(self, total_ms: int) -> None:
        self._deadline = None if total_ms < 0 else time.monotonic() + total_ms / 1000
        self._first: Optional[int] = total_ms if 0 <= total_ms < SLICE_MS else SLICE_MS

    def next(self) -> Optional[int]:
        """The next slice in milliseconds, or None when the time is up."""
        if self._first is not None:
            first, self._first = self._first, None
            return first
        if self._deadline is None:
            return SLICE_MS
        left_ms = (self._deadline - time.monotonic()) * 1000
        if left_ms <= 0:
            return None
        return min(SLICE_MS, max(1, int(left_ms + 0.999)))


def deadline(total_ms: int) -> Optional[float]:
    """The ``time.monotonic()`` at which a wait of ``total_ms`` ends (None: never)."""
    return None if total_ms < 0 else time.monotonic() + total_ms / 1000
