"""Python and C in separate processes on one segment, both ways round. The
C peer (peers/peer.c) answers every notified value v with "c:v", notified."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import List

import pytest

import shmiface

from conftest import start


def _ask(seg: shmiface.Segment, question: str) -> str:
    """Sets `question` with a notification and waits for the C peer's answer."""
    seg.set_string_notify(question)
    for _ in range(1000):
        # Our own notification wakes us too; keep waiting for the answer.
        assert seg.wait(timeout=60), "no answer from the C peer (hang guard)"
        value = seg.get_string()
        if value == "c:" + question:
            return value
    raise AssertionError("the answer never came")


def test_c_owner_python_attacher(peer: Path, name: str, procs: List[subprocess.Popen]) -> None:
    proc = start(procs, peer, "owner", name)
    seg = shmiface.get_instance(name)
    info = seg.info()
    assert info.owner_pid == proc.pid and info.owner_alive and not info.is_owner
    for i in range(50):
        assert _ask(seg, f"question {i}") == f"c:question {i}"
    seg.set_string_notify("quit")
    assert proc.wait(60) == 0
    # The C owner destroyed the segment on its way out: the handle is inert.
    assert seg.info().destroyed
    with pytest.raises(shmiface.DestroyedError):
        seg.wait(timeout=0)
    seg.destroy()


def test_python_owner_c_attacher(peer: Path, name: str, procs: List[subprocess.Popen]) -> None:
    seg = shmiface.init_instance(name, capacity=4096)
    proc = start(procs, peer, "attach", name)
    for i in range(50):
        assert _ask(seg, "ünïcode " + str(i)) == "c:ünïcode " + str(i)
    assert seg.info().version == 100
    seg.destroy()  # the attacher wakes with DESTROYED and exits 0
    assert proc.wait(60) == 0


def test_python_async_owner_c_attacher(peer: Path, name: str, procs: List[subprocess.Popen]) -> None:
    import asyncio

    seg = shmiface.init_instance(name, capacity=256)
    proc = start(procs, peer, "attach", name)

    async def main() -> None:
        for i in range(20):
            question = f"async {i}"
            seg.set_string_notify(question)
            while seg.get_string() != "c:" + question:
                assert await asyncio.wait_for(seg.wait_async(), 60)

    asyncio.run(main())
    seg.destroy()
    assert proc.wait(60) == 0


def test_a_dead_c_owner_is_taken_over_from_python(peer: Path, name: str, procs: List[subprocess.Popen]) -> None:
    proc = start(procs, peer, "owner", name)
    seg = shmiface.get_instance(name)
    seg.set_string("survives")
    proc.kill()
    proc.wait(60)
    assert not seg.info().owner_alive
    owner = shmiface.init_instance(name)
    info = owner.info()
    assert info.is_owner and info.owner_pid != proc.pid and owner.get_string() == "survives"
    owner.destroy()
    seg.destroy()
