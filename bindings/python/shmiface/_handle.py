"""The C handle of a segment, made safe to destroy from any thread.

The C ABI says ``shmiface_destroy`` must not race other calls on the same
handle: freeing it under a thread blocked in ``shmiface_wait`` is a
use-after-free. So every call registers in ``calls`` before it reads
``ptr`` and unregisters after (``release``), and ``close`` refuses new
calls, waits for other threads' calls in flight (waits run in short
slices, so that is brief), then destroys. When ``close`` runs inside a call
of its own thread (a signal handler that destroys the segment while the
main thread waits on it), the destroy is left to that call's ``release``.

Registering takes no lock, because it sits on every read and write: a call
appends its thread id to ``calls`` and removes it after (``list.append``
and ``list.remove`` are each atomic under the GIL). A caller registers
*before* it reads ``ptr`` while ``close`` clears ``ptr`` *before* it looks
at ``calls``: so either the caller sees no pointer, or ``close`` sees the
caller. The hot paths in ``_fastpath`` inline this protocol.
"""

from __future__ import annotations

import threading
from typing import Any, List, Optional

from ._errors import DestroyedError
from ._lib import lib

_DESTROYED = lib.SHMIFACE_ERR_DESTROYED
_OK = int(lib.SHMIFACE_OK)
get_ident = threading.get_ident


class Handle:
    """Owns one ``shmiface_segment *``; thread-safe."""

    __slots__ = ("ptr", "calls", "_doomed", "_name", "_cond")

    def __init__(self, ptr: Any, name: str) -> None:
        self.ptr: Optional[Any] = ptr
        """The C handle; None once closing (no new calls)."""
        self.calls: List[int] = []
        """The thread id of every call in flight, once per call."""
        self._doomed: Optional[Any] = None  # closed, to destroy at the last release
        self._name = name
        # Re-entrant, so a signal handler that destroys the segment while
        # this thread is inside release does not deadlock on it.
        self._cond = threading.Condition(threading.RLock())

    @property
    def closed(self) -> bool:
        """True once ``close`` has begun."""
        return self.ptr is None

    def destroyed(self) -> DestroyedError:
        """The error for a call that registered and found ``ptr`` cleared."""
        return DestroyedError(f"segment {self._name}: this handle was destroyed", _DESTROYED)

    def acquire(self, me: int) -> Any:
        """Registers one call of thread ``me`` and returns the pointer for it;
        ``DestroyedError`` (registering nothing) once the handle is closed.
        Pair with ``release(me)``."""
        self.calls.append(me)  # register first, then look
        ptr = self.ptr
        if ptr is None:
            self.release(me)
            raise self.destroyed()
        return ptr

    def release(self, me: int) -> None:
        """Unregisters one call of thread ``me``."""
        self.calls.remove(me)
        if self.ptr is None:
            self.released_while_closing()

    def released_while_closing(self) -> None:
        """After a call unregistered from a closing handle: tells ``close``,
        or destroys on its behalf if ``close`` left that to the last call."""
        doomed = None
        with self._cond:
            self._cond.notify_all()
            if not self.calls:
                doomed, self._doomed = self._doomed, None
        if doomed is not None:
            lib.shmiface_destroy(doomed)

    def _others_calling(self, me: int) -> bool:
        return any(t != me for t in list(self.calls))

    def close(self, grace: Optional[float] = None) -> int:
        """Destroys the C handle once no call uses it; idempotent. Returns
        the status of ``shmiface_destroy`` (OK if there was nothing to do or
        the destroy is left to a call still in flight).

        ``grace``: seconds to wait for other threads' calls; after it, the
        destroy is left to the last of them rather than done under them (at
        interpreter exit, where a daemon thread may be stuck in a call)."""
        me = get_ident()
        with self._cond:
            ptr, self.ptr = self.ptr, None
            if ptr is None:
                return _OK
            self._cond.wait_for(lambda: not self._others_calling(me), grace)
            if self.calls:
                # This thread's own call further up the stack, or (after the
                # grace) another thread's: the last release destroys it.
                self._doomed = ptr
                return _OK
        return int(lib.shmiface_destroy(ptr))
