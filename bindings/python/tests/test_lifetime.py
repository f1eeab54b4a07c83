"""Handles close deterministically: destroy (idempotent, safe from any
thread), ``with``, garbage collection and interpreter exit."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
import weakref
from typing import Callable

import pytest

import shmiface

from conftest import run_python


def exists(name: str) -> bool:
    return os.path.exists(f"/dev/shm/{name}")


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60  # a hang guard, not a timing
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.001)


def test_with_destroys_even_on_error(name: str) -> None:
    with pytest.raises(RuntimeError):
        with shmiface.init_instance(name) as seg:
            assert exists(name)
            raise RuntimeError("boom")
    assert not exists(name)
    with pytest.raises(shmiface.DestroyedError):
        seg.get_string()
    seg.destroy()  # still idempotent


def test_destroy_is_idempotent(name: str) -> None:
    seg = shmiface.init_instance(name)
    seg.destroy()
    seg.destroy()
    assert not exists(name)
    # The name is free again.
    shmiface.init_instance(name).destroy()


def test_garbage_collection_destroys_and_nothing_keeps_a_segment_alive(name: str) -> None:
    seg = shmiface.init_instance(name)
    ref = weakref.ref(seg)
    del seg
    gc.collect()
    assert ref() is None
    assert not exists(name)


def test_module_level_calls_without_a_current_instance(name: str) -> None:
    out = run_python(
        "import shmiface\n"
        "try:\n"
        "    shmiface.get_string()\n"
        "except shmiface.NotFoundError as e:\n"
        "    print('none:', e)\n"
        f"s = shmiface.init_instance({name!r})\n"
        "shmiface.set_string('x'); assert shmiface.get_string() == 'x'\n"
        "s.destroy()\n"
        "try:\n"
        "    shmiface.set_string('y')\n"
        "except shmiface.NotFoundError:\n"
        "    print('none again')\n"
    )
    assert out.returncode == 0, out.stderr
    assert "none:" in out.stdout and "none again" in out.stdout


def test_interpreter_exit_destroys_what_is_left(name: str) -> None:
    out = run_python(
        "import shmiface, threading\n"
        f"owner = shmiface.init_instance({name!r}, capacity=64)\n"
        f"other = shmiface.get_instance({name!r})\n"
        "owner.set_string('bye')\n"
        "print('made', flush=True)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "made\n"
    assert not exists(name)


def test_interpreter_exit_with_a_daemon_thread_still_waiting(name: str) -> None:
    # The exit-time destroy must not free the handle under the waiting
    # thread (a use-after-free: the ABI forbids destroy racing other calls).
    out = run_python(
        "import shmiface, threading, time\n"
        f"seg = shmiface.init_instance({name!r})\n"
        "started = threading.Event()\n"
        "def waiter():\n"
        "    started.set()\n"
        "    try:\n"
        "        seg.wait()\n"
        "    except shmiface.DestroyedError:\n"
        "        pass\n"
        "threading.Thread(target=waiter, daemon=True).start()\n"
        "started.wait()\n"
        "time.sleep(0.05)\n"
        "print('exiting', flush=True)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "exiting\n"
    assert not exists(name)


@pytest.mark.parametrize("waiters", [1, 3])
def test_destroy_while_other_threads_wait_on_the_same_handle(name: str, waiters: int) -> None:
    # Unguarded, this frees the C handle under the waiters: a crash, most
    # runs. A few rounds make a regression all but certain to show.
    for _ in range(5):
        seg = shmiface.init_instance(name)
        results: list = []
        started = threading.Barrier(waiters + 1)

        def waiter() -> None:
            started.wait()
            try:
                results.append(seg.wait())
            except shmiface.DestroyedError as exc:
                results.append(exc)

        threads = [threading.Thread(target=waiter) for _ in range(waiters)]
        for t in threads:
            t.start()
        started.wait()
        _until(lambda: seg.info().waiters == waiters)  # all blocked inside the library
        seg.destroy()
        for t in threads:
            t.join(60)
            assert not t.is_alive()
        assert len(results) == waiters
        assert all(isinstance(r, shmiface.DestroyedError) for r in results), results
        assert not exists(name)


def test_destroy_from_a_signal_handler_while_this_thread_waits(name: str) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers run in the main thread")
    seg = shmiface.init_instance(name)
    previous = signal.signal(signal.SIGALRM, lambda *_: seg.destroy())
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(shmiface.DestroyedError):
            seg.wait(timeout=30)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not exists(name)


def test_keyboard_interrupt_reaches_a_waiting_main_thread(name: str) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers run in the main thread")
    seg = shmiface.init_instance(name)

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(KeyboardInterrupt):
            seg.wait()  # forever, were it not for the interrupt
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # The handle is still usable afterwards.
    seg.notify()
    assert seg.wait(timeout=5) is True
    seg.destroy()


def test_destroy_while_other_threads_hammer_the_same_handle(name: str) -> None:
    for _ in range(5):
        seg = shmiface.init_instance(name)
        outcomes: list = []
        go = threading.Barrier(5)

        def hammer(i: int) -> None:
            go.wait()
            try:
                while True:
                    seg.set_string(f"thread {i}")
                    seg.get_string()
                    seg.notify()
                    seg.wait(timeout=0)
            except shmiface.DestroyedError:
                outcomes.append("destroyed")
            except BaseException as exc:  # noqa: BLE001 - reported below
                outcomes.append(exc)

        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        go.wait()
        _until(lambda: seg.info().version > 100)
        seg.destroy()
        for t in threads:
            t.join(60)
            assert not t.is_alive()
        assert outcomes == ["destroyed"] * 4
        assert not exists(name)
