"""The C handle of a segment, made safe to destroy from any thread.

The C ABI says ``shmiface_destroy`` must not race other calls on the same
handle: freeing it under a thread blocked in ``shmiface_wait`` is a
use-after-free. So every call borrows the pointer (``acquire``/``release``),
and ``close`` refuses new borrowers, waits for other threads' calls in
flight (waits run in short slices, so that is brief), then destroys. When
``close`` runs inside a call of its own thread (a signal handler that
destroys the segment while the main thread waits on it), the destroy is
left to that call's ``release``.

The fast path takes no lock. Each thread counts its own borrows under its
own key, and a borrower registers *before* it reads the pointer while
``close`` clears the pointer *before* it looks at the borrowers: so either
the borrower sees no pointer, or ``close`` sees the borrower.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, Optional

from ._errors import DestroyedError
from ._lib import lib

_DESTROYED = lib.SHMIFACE_ERR_DESTROYED
_OK = int(lib.SHMIFACE_OK)
_get_ident = threading.get_ident


class Handle:
    """Owns one ``shmiface_segment *``; thread-safe."""

    __slots__ = ("_ptr", "_doomed", "_name", "_cond", "_borrowers")

    def __init__(self, ptr: Any, name: str) -> None:
        self._ptr: Optional[Any] = ptr  # None once closing: no new borrowers
        self._doomed: Optional[Any] = None  # closed, to destroy at the last release
        self._name = name
        # Re-entrant, so a signal handler that destroys the segment while
        # this thread is inside release does not deadlock on it.
        self._cond = threading.Condition(threading.RLock())
        self._borrowers: Dict[int, int] = {}  # thread id -> calls in flight

    @property
    def closed(self) -> bool:
        """True once ``close`` has begun."""
        return self._ptr is None

    def acquire(self) -> Any:
        """Borrows the pointer for one call; pair with ``release``.
        ``DestroyedError`` once the handle is closed."""
        me = _get_ident()
        borrowers = self._borrowers
        borrowers[me] = borrowers.get(me, 0) + 1  # register first ...
        ptr = self._ptr  # ... then look
        if ptr is None:
            self.release()
            raise DestroyedError(f"segment {self._name}: this handle was destroyed", _DESTROYED)
        return ptr

    def release(self) -> None:
        """Returns a pointer borrowed by ``acquire``."""
        me = _get_ident()
        borrowers = self._borrowers
        left = borrowers[me] - 1
        if left:
            borrowers[me] = left
        else:
            del borrowers[me]
        if self._ptr is None:  # closing: tell close, or destroy on its behalf
            doomed = None
            with self._cond:
                self._cond.notify_all()
                if not borrowers:
                    doomed, self._doomed = self._doomed, None
            if doomed is not None:
                lib.shmiface_destroy(doomed)

    def _others_borrowing(self, me: int) -> bool:
        return any(t != me for t in list(self._borrowers))

    def close(self, grace: Optional[float] = None) -> int:
        """Destroys the C handle once no call uses it; idempotent. Returns
        the status of ``shmiface_destroy`` (OK if there was nothing to do or
        the destroy is left to a call still in flight).

        ``grace``: seconds to wait for other threads' calls; after it, the
        destroy is left to the last of them rather than done under them (at
        interpreter exit, where a daemon thread may be stuck in a call)."""
        me = _get_ident()
        with self._cond:
            ptr, self._ptr = self._ptr, None
            if ptr is None:
                return _OK
            self._cond.wait_for(lambda: not self._others_borrowing(me), grace)
            if self._borrowers:
                # This thread's own call further up the stack, or (after the
                # grace) another thread's: the last release destroys it.
                self._doomed = ptr
                return _OK
        return int(lib.shmiface_destroy(ptr))
