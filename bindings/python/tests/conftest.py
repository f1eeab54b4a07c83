"""Fixtures: unique segment names that are cleaned up whatever happens, and
the C peer program used by the cross-language tests."""

from __future__ import annotations

import itertools
import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

import shmiface

_counter = itertools.count()


@pytest.fixture
def name() -> Iterator[str]:
    """A segment name no other test or process uses; unlinked afterwards."""
    n = f"py-{os.getpid()}-{next(_counter)}"
    yield n
    try:
        shmiface.unlink(n)
    except shmiface.NotFoundError:
        pass


@pytest.fixture
def peer() -> Path:
    """The compiled C peer (tests/peers/peer.c), built by mk/python.mk."""
    path = os.environ.get("SHMIFACE_TEST_PEER")
    if not path or not Path(path).exists():
        pytest.fail("SHMIFACE_TEST_PEER must name the built C peer (run through `make test-python`)")
    return Path(path)


def start(peer: Path, mode: str, name: str) -> subprocess.Popen:
    """Starts the C peer and waits until it listens."""
    proc = subprocess.Popen([str(peer), mode, name], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.kill()
        pytest.fail(f"C peer did not start: {line!r}, exit {proc.wait()}")
    return proc
