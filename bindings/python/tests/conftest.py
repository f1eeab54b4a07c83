"""Fixtures: unique segment names that are cleaned up whatever happens, and
the C peer program used by the cross-language tests."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

import shmiface

_counter = itertools.count()
SHM = Path("/dev/shm")
HERE = Path(__file__).resolve().parent


@pytest.fixture
def name() -> Iterator[str]:
    """A segment name no other test or process uses. Afterwards every
    segment whose name starts with it (tests derive names such as
    ``name + "x"``) is removed, whatever the test did."""
    n = f"py-{os.getpid()}-{next(_counter)}_"  # "_": "py-1-1_" is no prefix of "py-1-10_"
    yield n
    for path in SHM.glob(f"{n}*"):
        try:
            shmiface.unlink(path.name)
        except shmiface.ShmifaceError:
            path.unlink(missing_ok=True)


def peer_env() -> Dict[str, str]:
    """The environment for a C peer: it loads the very library this Python loaded."""
    lib_dir = os.path.dirname(os.path.abspath(shmiface.library_path))
    old = os.environ.get("LD_LIBRARY_PATH")
    return dict(os.environ, LD_LIBRARY_PATH=lib_dir + (os.pathsep + old if old else ""))


@pytest.fixture
def peer() -> Path:
    """The compiled C peer (tests/peers/peer.c), built by mk/python.mk."""
    path = os.environ.get("SHMIFACE_TEST_PEER")
    if not path or not Path(path).exists():
        pytest.fail("SHMIFACE_TEST_PEER must name the built C peer (run through `make test-python`)")
    return Path(path)


@pytest.fixture
def procs() -> Iterator[List[subprocess.Popen]]:
    """Child processes a test starts; any still running afterwards are killed."""
    started: List[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def start(procs: List[subprocess.Popen], peer: Path, mode: str, name: str) -> subprocess.Popen:
    """Starts the C peer and waits until it listens."""
    proc = subprocess.Popen([str(peer), mode, name], stdout=subprocess.PIPE, text=True, env=peer_env())
    procs.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.kill()
        pytest.fail(f"C peer did not start: {line!r}, exit {proc.wait()}")
    return proc


def run_python(code: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter that imports this checkout's package."""
    full_env = dict(os.environ, PYTHONPATH=str(HERE.parent), **env)
    return subprocess.run(
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=timeout
    )
