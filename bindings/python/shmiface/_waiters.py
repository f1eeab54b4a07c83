"""The worker threads that ``Segment.wait_async`` blocks on.

A pool of its own rather than the event loop's default executor: every
pending ``wait_async`` occupies a worker for one slice at a time, and
would otherwise crowd out the loop's other blocking work (DNS lookups,
file I/O). A blocked worker costs no CPU. A forked child starts a fresh pool.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

_MAX_WORKERS = 64

_lock = threading.Lock()
_pool: Optional[ThreadPoolExecutor] = None


def executor() -> ThreadPoolExecutor:
    """The shared pool, started on first use."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_MAX_WORKERS, thread_name_prefix="shmiface-wait")
        return _pool


def _forget_after_fork() -> None:
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
