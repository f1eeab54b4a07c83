"""Opening and closing a segment's object by other means — Python's own
``multiprocessing.shared_memory`` — in a process that owns or maps it
changes nothing for shmiface: the owner stays the owner, and a new owner
never resets counts under an attacher."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from multiprocessing import resource_tracker, shared_memory
from typing import Dict

import shmiface

from conftest import HERE


def _open_and_close_with_shared_memory(name: str) -> None:
    shm = shared_memory.SharedMemory(name=name)
    # Before 3.13 SharedMemory registers what it opens, and the tracker
    # would unlink the live segment at exit: undo that (track=False on 3.13+).
    resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]
    shm.close()


def _env() -> Dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(HERE.parent), SHMIFACE_LIB=shmiface.library_path)


def _python(code: str, **kwargs: object) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )


def test_an_owner_that_opens_and_closes_the_object_stays_the_owner(name: str) -> None:
    seg = shmiface.init_instance(name, capacity=64)
    seg.set_string("mine")
    _open_and_close_with_shared_memory(name)
    other = _python(f"import shmiface; shmiface.init_instance({name!r}, capacity=64)")
    _, err = other.communicate(timeout=60)
    assert other.returncode != 0 and "ExistsError" in err, err
    assert seg.info().owner_alive and seg.info().is_owner
    assert seg.get_string() == "mine"
    seg.destroy()


def test_an_attacher_that_opens_and_closes_the_object_keeps_its_counts(name: str) -> None:
    # The owner dies; this process attaches, waits on a thread, and opens
    # and closes the object by other means. A new owner in another process
    # must still see it attached, and so reset nothing under it.
    owner = _python(
        f"import shmiface, sys; s = shmiface.init_instance({name!r}, capacity=64); "
        "print('ready', flush=True); sys.stdin.read()"
    )
    assert owner.stdout is not None and owner.stdout.readline().strip() == "ready"
    seg = shmiface.get_instance(name)
    owner.kill()
    owner.wait()
    woke = threading.Event()

    def waiter() -> None:
        if seg.wait(timeout=60):
            woke.set()

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a hang guard, not a timing
    while seg.info().waiters != 1:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    _open_and_close_with_shared_memory(name)
    taker = _python(
        f"import shmiface, sys; s = shmiface.init_instance({name!r}, capacity=64); "
        "print(s.info().waiters, flush=True); s.notify(); sys.stdin.read()"
    )
    assert taker.stdout is not None
    assert taker.stdout.readline().strip() == "1", "a takeover reset a live waiter's count"
    thread.join(60)
    assert woke.is_set()
    assert seg.info().waiters == 0
    taker.kill()
    taker.wait()
    seg.destroy()
