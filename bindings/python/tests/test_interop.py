"""A segment is an ordinary POSIX shared-memory object, and shmiface never
involves Python's multiprocessing resource tracker."""

from __future__ import annotations

import multiprocessing.resource_tracker as resource_tracker
from multiprocessing import shared_memory

import pytest

import shmiface

from conftest import run_python


def test_shared_memory_opens_the_same_object(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # SharedMemory registers what it opens with the resource tracker (before
    # Python 3.13 there is no track=False), which would unlink the segment
    # when this process exits: keep it out of the tracker for this test.
    monkeypatch.setattr(resource_tracker, "register", lambda *_: None)
    with shmiface.init_instance(name, capacity=256) as seg:
        seg.set_string("seen through SharedMemory")
        shm = shared_memory.SharedMemory(name=name)
        try:
            raw = bytes(shm.buf)
            assert raw.startswith(b"SHMIFACE")
            assert b"seen through SharedMemory" in raw
        finally:
            shm.close()


def test_shmiface_never_registers_with_the_resource_tracker(name: str) -> None:
    out = run_python(
        "import multiprocessing.resource_tracker as rt\n"
        "calls = []\n"
        "rt.register = lambda *a: calls.append(a)\n"
        "rt.ensure_running = lambda *a: calls.append(('ensure_running',))\n"
        "import shmiface\n"
        f"owner = shmiface.init_instance({name!r})\n"
        f"other = shmiface.get_instance({name!r})\n"
        "other.set_string_notify('x'); other.get_string(); owner.wait(timeout=0)\n"
        "other.destroy(); owner.destroy()\n"
        "assert rt._resource_tracker._pid is None, 'a resource tracker was started'\n"
        "print(calls)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
