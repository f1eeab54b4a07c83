"""The C handle of a segment, made safe to destroy from any thread and
while views into its mapping are open.

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

Views (borrows, loans) point into the mapping, which the library unmaps
when the handle is destroyed; a view may be kept by the user for any time
(a memoryview, a numpy array made from one). So each view holds a *lease*:
a cffi pointer whose collection ends it (see ``lease``), and the C handle
is destroyed only once no call and no lease remains. An owner's destroy
still takes effect at once for everyone else, through a shadow handle
that keeps the mapping (``_shadow``). The few calls a lease makes itself
(release, publish, discard) run under ``_cond``, so they never race the
switch to the shadow.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, List, Optional

from . import _forks
from ._errors import DestroyedError, ShmifaceError
from ._lib import ffi, lib
from ._shadow import shadow_of

_DESTROYED = lib.SHMIFACE_ERR_DESTROYED
_OK = int(lib.SHMIFACE_OK)
get_ident = threading.get_ident


def _new_lock() -> threading.Condition:
    # Re-entrant, so a signal handler that destroys the segment while this
    # thread is inside release, or a lease collected by the garbage
    # collector inside a section that holds it, does not deadlock.
    return threading.Condition(threading.RLock())


class Handle:
    """Owns one ``shmiface_segment *``; thread-safe."""

    __slots__ = ("ptr", "calls", "owner", "_doomed", "_name", "_cond", "_leases", "_lease_ptr", "_forked",
                 "__weakref__")

    def __init__(self, ptr: Any, name: str) -> None:
        self.ptr: Optional[Any] = ptr
        """The C handle; None once closing (no new calls)."""
        self.calls: List[int] = []
        """The thread id of every call in flight, once per call."""
        self.owner = False
        """Whether the handle owns the segment (its destroy is seen by all)."""
        self._doomed: Optional[Any] = None  # closed, to destroy at the last release or lease
        self._name = name
        self._cond = _new_lock()
        self._leases = 0  # views alive
        self._lease_ptr: Optional[Any] = ptr  # what views call through: ptr, or the shadow
        self._forked = False
        _forks.track(self)

    @property
    def closed(self) -> bool:
        """True once ``close`` has begun (or the process forked since the handle was made)."""
        return self.ptr is None

    def destroyed(self) -> ShmifaceError:
        """The error for a call that registered and found ``ptr`` cleared."""
        if self._forked:
            return ShmifaceError(
                f"segment {self._name}: this handle was made before os.fork() and cannot be used "
                f"in the child; attach again in the child (shmiface.get_instance({self._name!r}))"
            )
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
        """After a call or a lease ended on a closing handle: tells ``close``,
        or destroys on its behalf if ``close`` left that to the last of them."""
        doomed = None
        with self._cond:
            self._cond.notify_all()
            if self.ptr is None and not self.calls and not self._leases:
                doomed, self._doomed = self._doomed, None
                if doomed is not None:
                    self._lease_ptr = None
        if doomed is not None:
            lib.shmiface_destroy(doomed)

    # -- leases ---------------------------------------------------------

    def lease(self, address: Any) -> Any:
        """A ``uint8_t *`` at ``address`` that keeps the mapping for as long
        as it lives. Call only inside a registered call. Make every view of
        the leased bytes from it (``ffi.buffer(keeper, n)``): a cffi buffer
        keeps its pointer alive, a memoryview its buffer, a numpy array its
        memoryview, so the lease ends when the last of them is released or
        collected, whatever the user kept."""
        with self._cond:
            self._leases += 1
        return ffi.gc(ffi.cast("uint8_t *", address), self._unlease)

    def _unlease(self, _keeper: Any) -> None:
        with self._cond:
            self._leases -= 1
        self.released_while_closing()

    def call_leased(self, fn: Callable[..., int], *args: Any) -> int:
        """``fn(handle, *args)`` for a view that holds a lease (so the C
        handle is alive even after ``close``); the error of a forked handle
        in a child."""
        with self._cond:
            ptr = self._lease_ptr
            if ptr is None:
                raise self.destroyed()
            return int(fn(ptr, *args))

    # -- closing --------------------------------------------------------

    def _others_calling(self, me: int) -> bool:
        return any(t != me for t in list(self.calls))

    def close(self, grace: Optional[float] = None) -> int:
        """Destroys the C handle once no call or view uses it; idempotent.
        Returns the status of ``shmiface_destroy`` (OK if there was nothing
        to do or the destroy is left to a call or view still alive).

        ``grace``: seconds to wait for other threads' calls; after it, the
        destroy is left to the last of them rather than done under them (at
        interpreter exit, where a daemon thread may be stuck in a call)."""
        me = get_ident()
        with self._cond:
            ptr, self.ptr = self.ptr, None
            if ptr is None:
                return _OK
            self._cond.wait_for(lambda: not self._others_calling(me), grace)
            if not self.calls and not self._leases:
                self._lease_ptr = None
                status = None
            else:
                status = self._defer(ptr)
        if status is None:
            return int(lib.shmiface_destroy(ptr))
        self.released_while_closing()  # a view may have gone meanwhile
        return status

    def _defer(self, ptr: Any) -> int:
        """Leaves the destroy of ``ptr`` to the last call or view (held ``_cond``).
        An owner with only views left destroys now through a shadow."""
        if self.owner and not self.calls:
            shadow = shadow_of(ptr, self._name)
            if shadow is not None:
                self._lease_ptr = self._doomed = shadow
                return int(lib.shmiface_destroy(ptr))
        # This thread's own call further up the stack, or (after the grace)
        # another thread's, or views of a handle that is not the owner's.
        self._doomed = ptr
        return _OK

    def forget_after_fork(self) -> None:
        """In a forked child: the handle belongs to the parent (see ``_forks``)."""
        self._forked = True
        self.ptr = self._lease_ptr = self._doomed = None
        self.calls = []
        self._cond = _new_lock()
