"""Handles made before ``os.fork()`` are refused in the child.

A forked child inherits the parent's Python objects, but not its use of
the library: the library closes the inherited descriptors, replaces the
inherited mappings with private zeros and would answer BAD_HANDLE to a
parent's handle. So the package never passes one down: in the child every
handle alive at the fork is marked forked (its pointers cleared, its
locks and its list of calls in flight made anew, since the threads that
held them do not exist in the child), and each later use raises a
``ShmifaceError`` saying to attach again. Views made before the fork stay
readable (they read the library's zeros) and ending them calls nothing.

The check costs the hot paths nothing: they already test ``ptr`` for None.
"""

from __future__ import annotations

import os
import weakref
from typing import TYPE_CHECKING, Callable, List

if TYPE_CHECKING:
    from ._handle import Handle

_live: "weakref.WeakSet[Handle]" = weakref.WeakSet()
_hooks: List[Callable[[], None]] = []


def track(handle: "Handle") -> None:
    """Marks ``handle`` forked in every child forked while it lives."""
    _live.add(handle)


def on_fork_in_child(hook: Callable[[], None]) -> None:
    """Runs ``hook`` in every forked child (state of threads that do not exist there)."""
    _hooks.append(hook)


def _in_child() -> None:
    for handle in list(_live):
        handle.forget_after_fork()
    for hook in _hooks:
        hook()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_in_child)
