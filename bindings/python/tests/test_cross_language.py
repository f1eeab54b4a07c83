"""Python and C in separate processes on one segment, both ways round."""

from __future__ import annotations

from pathlib import Path

import shmiface
from conftest import start


def _ask(seg: shmiface.Segment, question: str) -> str:
    """Sets `question` with a notification and waits for the C peer's answer."""
    seg.set_string_notify(question)
    for _ in range(1000):
        assert seg.wait(timeout=30), "no answer from the C peer"
        value = seg.get_string()
        if value == "c:" + question:
            return value
    raise AssertionError("the answer never came")


def test_c_owner_python_attacher(peer: Path, name: str) -> None:
    proc = start(peer, "owner", name)
    seg = shmiface.get_instance(name)
    info = seg.info()
    assert info.owner_pid == proc.pid and info.owner_alive and not info.is_owner
    for i in range(50):
        assert _ask(seg, f"question {i}") == f"c:question {i}"
    seg.set_string_notify("quit")
    assert proc.wait(30) == 0
    # The C owner destroyed the segment on its way out.
    assert seg.info().destroyed
    seg.destroy()


def test_python_owner_c_attacher(peer: Path, name: str) -> None:
    seg = shmiface.init_instance(name, capacity=4096)
    proc = start(peer, "attach", name)
    for i in range(50):
        assert _ask(seg, "ünïcode " + str(i)) == "c:ünïcode " + str(i)
    seg.destroy()  # the attacher wakes with DESTROYED and exits 0
    assert proc.wait(30) == 0


def test_a_dead_c_owner_is_taken_over_from_python(peer: Path, name: str) -> None:
    proc = start(peer, "owner", name)
    seg = shmiface.get_instance(name)
    seg.set_string("survives")
    proc.kill()
    proc.wait(30)
    assert not seg.info().owner_alive
    owner = shmiface.init_instance(name)
    assert owner.info().is_owner and owner.get_string() == "survives"
    owner.destroy()
    seg.destroy()
