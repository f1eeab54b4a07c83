"""Streams: a segment that keeps its last values (``history``), read in
order with ``next`` and ``values``, with every loss counted."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import List

import pytest

import shmiface

from conftest import peer_env, run_python


def test_history_is_kept_and_reported(name: str) -> None:
    with shmiface.init_instance(name, capacity=64, history=16) as seg:
        assert seg.history == 16
        info = seg.info()
        assert (info.history, info.oldest_version, info.version) == (16, 0, 0)
        for i in range(1, 21):
            seg.set_bytes(b"%d" % i)
        info = seg.info()
        assert (info.version, info.oldest_version) == (20, 5)  # the last 16: 5..20
        other = shmiface.get_instance(name)
        assert other.history == 16 and other.info().oldest_version == 5
        other.destroy()


def test_the_default_history_is_one(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        assert seg.history == 1 and seg.info().history == 1
        seg.set_bytes(b"a")
        seg.set_bytes(b"b")
        assert seg.next(0) == shmiface.Message(2, b"b", 1)


@pytest.mark.parametrize("history", [0, -1, 65537, 2**32, 1.5, True])
def test_a_bad_history_is_refused(name: str, history: object) -> None:
    with pytest.raises(shmiface.InvalidArgumentError):
        shmiface.init_instance(name, history=history)  # type: ignore[arg-type]
    assert not os.path.exists(f"/dev/shm/{name}")


def test_next_without_after_is_the_current_value_at_once(name: str) -> None:
    with shmiface.init_instance(name, history=4) as seg:
        assert seg.next() == shmiface.Message(0, b"", 0)  # never set
        seg.set_bytes(b"one")
        seg.set_bytes(b"two")
        started = time.monotonic()
        m = seg.next(timeout=None)  # the current value: no wait, even "forever"
        assert time.monotonic() - started < 5
        assert (m.version, m.data, m.lost) == (2, b"two", 0)


def test_next_takes_every_kept_value_in_order_and_counts_losses(name: str) -> None:
    with shmiface.init_instance(name, history=8) as seg:
        for i in range(1, 21):
            seg.set_bytes(b"v%d" % i)
        first = seg.next(0)
        assert first == shmiface.Message(13, b"v13", 12)  # 1..12 overwritten unread
        seen = [first]
        while True:
            m = seg.next(seen[-1].version, timeout=0)
            if m is None:
                break
            seen.append(m)
        assert [m.version for m in seen] == list(range(13, 21))
        assert [m.lost for m in seen[1:]] == [0] * 7
        assert seg.next(5) == shmiface.Message(13, b"v13", 7)


def test_next_with_timeout_zero_returns_none_when_nothing_is_new(name: str) -> None:
    with shmiface.init_instance(name, history=4) as seg:
        assert seg.next(0, timeout=0) is None
        v = seg.set_bytes(b"x")
        assert seg.next(v, timeout=0) is None
        started = time.monotonic()
        assert seg.next(v, timeout=0.15) is None
        assert time.monotonic() - started >= 0.15
        assert seg.next(v + 100, timeout=0) is None  # a version not reached yet


def test_next_waits_for_a_set_without_notify(name: str) -> None:
    with shmiface.init_instance(name, history=4) as seg:
        timer = threading.Timer(0.15, lambda: seg.set_bytes(b"later"))
        timer.start()
        try:
            m = seg.next(0, timeout=60)
        finally:
            timer.join()
        assert m == shmiface.Message(1, b"later", 0)


def test_next_of_values_larger_than_the_read_buffer(name: str) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB: past the pooled read buffers
    with shmiface.init_instance(name, capacity=len(big) + 10, history=3) as seg:
        seg.set_bytes(big)
        seg.set_bytes(big[::-1])
        assert seg.next(0).data == big
        assert seg.next(1).data == big[::-1]
        assert seg.next(1).data == big[::-1]  # the grown buffer went back fine


def test_values_grows_its_buffer_and_reports_losses_on_the_way(name: str) -> None:
    big = bytes(range(256)) * 64  # 16 KiB: past values' first buffer
    with shmiface.init_instance(name, capacity=len(big), history=4) as seg:
        for n in range(1, 7):
            seg.set_bytes(b"small %d" % n if n % 2 else big[n:] + big[:n])
        got = [(m.version, m.lost, m.data) for m in seg.values(after=1, timeout=0)]
        assert got == [
            (3, 1, b"small 3"),
            (4, 0, big[4:] + big[:4]),
            (5, 0, b"small 5"),
            (6, 0, big[6:] + big[:6]),
        ]


@pytest.mark.parametrize("after", [-1, 2**64 - 1, 2**64, "1", 1.0])
def test_a_bad_after_is_refused(name: str, after: object) -> None:
    with shmiface.init_instance(name, history=2) as seg:
        with pytest.raises(shmiface.InvalidArgumentError):
            seg.next(after)  # type: ignore[arg-type]
        with pytest.raises(shmiface.InvalidArgumentError):
            seg.next(0, timeout=-1)


def test_a_consumer_that_stops_reading_loses_exactly_the_overwritten(name: str) -> None:
    history = 32
    with shmiface.init_instance(name, history=history) as seg:
        reader = shmiface.get_instance(name)
        seg.set_bytes(b"start")
        last = reader.next(0)
        assert last.version == 1
        for i in range(history + 100):  # the reader stops while these are set
            seg.set_bytes(b"%d" % i)
        resumed = reader.next(last.version)
        assert resumed.lost == 100
        rest = list(reader.values(resumed.version, timeout=0))
        assert sum(m.lost for m in rest) == 0
        assert len(rest) + 1 == history
        reader.destroy()


def test_values_iterates_from_the_current_value_and_ends_on_timeout(name: str) -> None:
    with shmiface.init_instance(name, history=4) as seg:
        seg.set_bytes(b"now")

        def produce() -> None:
            for i in range(5):
                time.sleep(0.01)
                seg.set_bytes(b"%d" % i)

        t = threading.Thread(target=produce)
        t.start()
        got = [(m.version, m.data) for m in seg.values(timeout=1.0)]
        t.join()
        assert got == [(1, b"now")] + [(i + 2, b"%d" % i) for i in range(5)]


def test_values_of_a_segment_never_set_starts_at_the_first_set(name: str) -> None:
    with shmiface.init_instance(name, history=4) as seg:
        assert list(seg.values(timeout=0)) == []
        seg.set_bytes(b"first")
        assert list(seg.values(after=0, timeout=0)) == [shmiface.Message(1, b"first", 0)]


def test_values_ends_when_the_owner_destroys(name: str) -> None:
    owner = shmiface.init_instance(name, history=4)
    reader = shmiface.get_instance(name)
    got: List[int] = []
    done = threading.Event()

    def consume() -> None:
        for m in reader.values(after=0):  # no timeout: only the destroy ends it
            got.append(m.version)
        done.set()

    t = threading.Thread(target=consume)
    t.start()
    owner.set_bytes(b"a")
    owner.set_bytes(b"b")
    deadline = time.monotonic() + 60
    while len(got) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    owner.destroy()
    assert done.wait(60)
    t.join(60)
    assert got == [1, 2]
    with pytest.raises(shmiface.DestroyedError):
        reader.next(2, timeout=0)
    reader.destroy()


def test_values_ends_when_this_handle_is_destroyed_by_another_thread(name: str) -> None:
    seg = shmiface.init_instance(name, history=4)
    finished = threading.Event()

    def consume() -> None:
        for _ in seg.values(after=0):
            pass
        finished.set()

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.05)
    seg.destroy()
    assert finished.wait(60)
    t.join(60)
    assert not os.path.exists(f"/dev/shm/{name}")
    assert list(seg.values()) == []
    with pytest.raises(shmiface.DestroyedError):
        seg.next()


def test_keyboard_interrupt_reaches_the_main_thread_waiting_in_next(name: str) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers run in the main thread")

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    with shmiface.init_instance(name, history=2) as seg:
        previous = signal.signal(signal.SIGALRM, interrupt)
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            with pytest.raises(KeyboardInterrupt):
                seg.next(0)  # forever, were it not for the interrupt
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        seg.set_bytes(b"still usable")
        assert seg.next(0, timeout=5).data == b"still usable"


def test_destroy_from_a_signal_handler_ends_values(name: str) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers run in the main thread")
    seg = shmiface.init_instance(name, history=2)
    previous = signal.signal(signal.SIGALRM, lambda *_: seg.destroy())
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        assert list(seg.values(after=0)) == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not os.path.exists(f"/dev/shm/{name}")


def test_a_c_producer_in_another_process(name: str, peer: Path) -> None:
    count = 500
    with shmiface.init_instance(name, history=count) as seg:
        out = subprocess.run([str(peer), "produce", name, str(count)], env=peer_env(), capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["done", str(count)]
        got = list(seg.values(after=0, timeout=0))
        assert [m.data for m in got] == [b"c%d" % i for i in range(1, count + 1)]
        assert [m.version for m in got] == list(range(1, count + 1))
        assert all(m.lost == 0 for m in got)


def test_a_c_producer_outrunning_a_small_history_loses_exactly(name: str, peer: Path) -> None:
    history, count = 16, 116
    with shmiface.init_instance(name, history=history) as seg:
        out = subprocess.run([str(peer), "produce", name, str(count)], env=peer_env(), capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        got = list(seg.values(after=0, timeout=0))
        assert got[0].lost == count - history == 100
        assert [m.data for m in got] == [b"c%d" % i for i in range(101, count + 1)]


def test_a_c_consumer_reads_what_python_sets(name: str, peer: Path) -> None:
    count = 50
    with shmiface.init_instance(name, history=count) as seg:
        proc = subprocess.Popen([str(peer), "consume", name, str(count)], env=peer_env(), stdout=subprocess.PIPE,
                                text=True)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            for i in range(1, count + 1):
                seg.set_bytes(b"py%d" % i)
            lines = proc.stdout.read().splitlines()
            assert proc.wait(60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert lines == [f"{i} 0 py{i}" for i in range(1, count + 1)]


def test_a_python_producer_in_another_process_streams_live(name: str) -> None:
    count = 200
    with shmiface.init_instance(name, history=8) as seg:
        code = (
            "import shmiface, time\n"
            f"s = shmiface.get_instance({name!r})\n"
            f"for i in range(1, {count + 1}):\n"
            "    s.set_bytes(b'p%d' % i)\n"
            "    if i % 20 == 0: time.sleep(0.005)\n"
            "s.destroy()\n"
        )
        result: dict = {}

        def consume() -> None:
            got = []
            for m in seg.values(after=0, timeout=10):
                got.append(m)
                if m.version == count:
                    break
            result["got"] = got

        t = threading.Thread(target=consume)
        t.start()
        out = run_python(code)
        t.join(60)
        assert out.returncode == 0, out.stderr
        got = result["got"]
        # Every version is either read or counted as lost, exactly once.
        assert sum(1 + m.lost for m in got) == count
        assert [m.version for m in got] == sorted({m.version for m in got})
        assert all(m.data == b"p%d" % m.version for m in got)
