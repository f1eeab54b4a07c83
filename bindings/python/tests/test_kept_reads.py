"""get_string and get_bytes keep the value they read last and return it
again, with no library call, while the segment's version says it is
current (the probe, ``shmiface_get_probe``). Never stale: checked here
against writers in other processes, other handles, the owner's destroy in
another process, and values that are not UTF-8."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional

import pytest

import shmiface

from conftest import HERE, peer_env, run_python

# A Python writer process: attaches, sets "p<i>" for i = 1..count with
# set_string (every 7th with a NUL inside, which goes through set_bytes),
# pausing now and then so that the reader also finds the value unchanged.
WRITER = """
import sys, time, shmiface
seg = shmiface.get_instance(sys.argv[1])
count = int(sys.argv[2])
print("ready", flush=True)
for i in range(1, count + 1):
    seg.set_string(f"p{i}\\0nul" if i % 7 == 0 else f"p{i}")  # as _python_value
    if i % 50 == 0:
        time.sleep(0.0005)
seg.destroy()
print("done", flush=True)
"""

# The owner of a segment in another process: creates it with one value,
# then destroys it when told to on stdin.
OWNER = """
import sys, shmiface
seg = shmiface.init_instance(sys.argv[1], capacity=64)
seg.set_string("before the destroy")
print("ready", flush=True)
sys.stdin.readline()
seg.destroy()
print("destroyed", flush=True)
"""


def _spawn(procs: List[subprocess.Popen], argv: List[str], stdin: Optional[int] = None) -> subprocess.Popen:
    env = dict(peer_env(), PYTHONPATH=str(HERE.parent))
    proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, text=True, env=env)
    procs.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line == "ready", f"{argv[0]} did not start: {line!r}"
    return proc


def _number(value: str) -> int:
    """The counter a writer put in its value ("p12", "p14\\0nul", "c9")."""
    return int(value[1:].split("\0")[0])


def _python_value(n: int) -> str:
    """What WRITER sets at version ``n``."""
    return f"p{n}\0nul" if n % 7 == 0 else f"p{n}"


def _c_value(n: int) -> str:
    """What the C peer's ``produce`` sets at version ``n``."""
    return f"c{n}"


def _read_under(
    seg: shmiface.Segment, proc: subprocess.Popen, count: int, expected: Callable[[int], str]
) -> None:
    """Reads while ``proc`` sets values 1..count (``expected(i)`` at version i):
    every read returns a value that was set, never older than the version
    the segment had just before the read, never newer than just after, and
    never going back; some reads find the value they kept."""
    last = 0
    kept_again = 0
    deadline = time.monotonic() + 120  # a hang guard, not a timing
    while last < count:
        assert time.monotonic() < deadline, f"the writer stopped at {last}"
        before = seg.version
        first = seg.get_string()
        second = seg.get_string()
        third = seg.get_string()
        after = seg.version
        numbers = [_number(v) if v else 0 for v in (first, second, third)]
        assert before <= numbers[0] <= numbers[1] <= numbers[2] <= after, (before, numbers, after)
        assert last <= numbers[0], (last, numbers)
        for n, value in zip(numbers, (first, second, third)):
            if n:
                assert value == expected(n), (value, n)
        kept_again += (second is first) + (third is second)
        last = numbers[2]
    assert proc.wait(timeout=60) == 0
    assert seg.get_string() == expected(count)
    assert kept_again > 0, "no read ever found its kept value current"


def test_never_stale_under_a_python_writer_in_another_process(
    name: str, procs: List[subprocess.Popen]
) -> None:
    count = 20000
    with shmiface.init_instance(name, capacity=64) as seg:
        writer = _spawn(procs, [sys.executable, "-c", WRITER, name, str(count)])
        _read_under(seg, writer, count, _python_value)
        assert seg.version == count


def test_never_stale_under_a_c_writer_in_another_process(
    name: str, peer: Path, procs: List[subprocess.Popen]
) -> None:
    count = 200000
    with shmiface.init_instance(name, capacity=64) as seg:
        # The peer prints nothing before it sets: give it a "ready" of its own.
        proc = subprocess.Popen(
            [str(peer), "produce", name, str(count)], stdout=subprocess.PIPE, text=True, env=peer_env()
        )
        procs.append(proc)
        _read_under(seg, proc, count, _c_value)
        assert proc.stdout is not None and proc.stdout.read().split() == ["done", str(count)]


def test_a_foreign_owners_destroy_makes_the_next_kept_read_raise(
    name: str, procs: List[subprocess.Popen]
) -> None:
    owner = _spawn(procs, [sys.executable, "-c", OWNER, name], stdin=subprocess.PIPE)
    seg = shmiface.get_instance(name)
    text, data = seg.get_string(), seg.get_bytes()
    assert seg.get_string() is text and seg.get_bytes() is data  # both kept, and current
    assert owner.stdin is not None and owner.stdout is not None
    owner.stdin.write("go\n")
    owner.stdin.flush()
    assert owner.stdout.readline().strip() == "destroyed"
    assert seg.version == 1  # the destroy changed no version: only the mark says so
    with pytest.raises(shmiface.DestroyedError) as err:
        seg.get_string()
    assert err.value.status == 11
    with pytest.raises(shmiface.DestroyedError):
        seg.get_bytes()
    with pytest.raises(shmiface.DestroyedError):
        seg.get_string()
    seg.destroy()
    assert owner.wait(timeout=60) == 0


def test_the_owners_destroy_in_this_process_is_seen_by_an_attachers_kept_read(name: str) -> None:
    owner = shmiface.init_instance(name, capacity=64)
    reader = shmiface.get_instance(name)
    owner.set_string("kept")
    assert reader.get_string() == "kept" and reader.get_bytes() == b"kept"
    owner.destroy()
    with pytest.raises(shmiface.DestroyedError):
        reader.get_string()
    with pytest.raises(shmiface.DestroyedError):
        reader.get_bytes()
    reader.destroy()


def test_every_kind_of_set_from_another_handle_is_seen(name: str) -> None:
    with shmiface.init_instance(name, capacity=64, history=2) as seg, shmiface.get_instance(name) as other:
        assert seg.get_string() == "" and seg.get_bytes() == b""
        other.set_string("one")
        assert seg.get_string() == "one"
        other.set_bytes(b"two")
        assert seg.get_bytes() == b"two" and seg.get_string() == "two"
        other.compare_and_set(other.version, "three")
        assert seg.get_string() == "three"
        with other.loan() as loan:
            loan.buffer[:4] = b"four"
            assert seg.get_string() == "three"  # a loan is no value until published
            loan.publish(4)
        assert seg.get_string() == "four"
        with other.loan() as loan:
            loan.buffer[:4] = b"nope"  # discarded
        other.notify()
        assert seg.get_string() == "four"
        other.set_string("four")  # the same bytes again: a new version, read anew
        assert seg.get_bytes() == b"four" and seg.version == 5
        seg.set_string("own")  # and this handle's own sets
        assert seg.get_string() == "own" and other.get_string() == "own"


def test_get_bytes_and_get_string_keep_each_kind(name: str) -> None:
    with shmiface.init_instance(name, capacity=64) as seg:
        seg.set_string("é")
        data = seg.get_bytes()
        assert type(data) is bytes and data == "é".encode()
        text = seg.get_string()  # decoded from the bytes kept by get_bytes
        assert type(text) is str and text == "é"
        assert seg.get_bytes() is data and seg.get_string() is text
        assert seg.get_bytes() is data  # get_string's keeping did not replace the bytes
        seg.set_string("ü")
        assert seg.get_string() == "ü" and seg.get_bytes() == "ü".encode()
        assert seg.get_string() is seg.get_string() and seg.get_bytes() is seg.get_bytes()


def test_a_value_that_is_not_utf8_raises_each_time_and_poisons_nothing(name: str) -> None:
    with shmiface.init_instance(name, capacity=64) as seg:
        seg.set_bytes(b"\xff\xfe")
        for _ in range(3):
            with pytest.raises(UnicodeDecodeError):
                seg.get_string()
        assert seg.get_bytes() == b"\xff\xfe"
        with pytest.raises(UnicodeDecodeError):
            seg.get_string()  # after get_bytes kept the bytes too
        seg.set_string("fine")
        assert seg.get_string() == "fine" and seg.get_bytes() == b"fine"
        seg.set_bytes(b"\xc3")
        assert seg.get_bytes() == b"\xc3"  # bytes first this time
        with pytest.raises(UnicodeDecodeError):
            seg.get_string()
        assert seg.get_bytes() == b"\xc3"


@pytest.mark.parametrize("value", ["plain", "nul\0inside", "\0", "", "ends with nul\0", "é\0ü"])
def test_set_string_round_trips_with_and_without_nul(name: str, value: str) -> None:
    with shmiface.init_instance(name, capacity=64) as seg, shmiface.get_instance(name) as other:
        seg.set_string("x")
        seg.set_string(value)
        assert seg.version == 2
        assert other.get_string() == value and other.get_bytes() == value.encode()
        assert seg.info().length == len(value.encode())
        seen = other.info().notify_count
        seg.set_string_notify(value + "!")
        assert other.wait(timeout=0) and other.info().notify_count == seen + 1
        assert other.get_string() == value + "!" and seg.version == 3
        for too_long in (value + "\0" + "x" * 64, value + "x" * 65):
            with pytest.raises(shmiface.TooLargeError):
                seg.set_string(too_long)
        assert other.get_string() == value + "!"


def test_a_value_longer_than_what_is_kept_is_read_anew_each_time(name: str) -> None:
    from shmiface._fastpath import KEEP_AT_MOST

    with shmiface.init_instance(name, capacity=KEEP_AT_MOST + 4096) as seg:
        big = "x" * (KEEP_AT_MOST + 1)
        seg.set_string(big)
        first = seg.get_string()
        assert first == big and seg.get_string() == big and seg.get_string() is not first
        assert seg.get_bytes() == big.encode()
        middle = "y" * 10000  # larger than a pooled buffer's first size, and kept
        seg.set_string(middle)
        assert seg.get_string() == middle and seg.get_string() is seg.get_string()


def test_a_destroyed_handle_raises_though_it_kept_a_value(name: str) -> None:
    seg = shmiface.init_instance(name, capacity=64)
    seg.set_string("kept")
    assert seg.get_string() == "kept" and seg.get_bytes() == b"kept"
    seg.destroy()
    for read in (seg.get_string, seg.get_bytes):
        with pytest.raises(shmiface.DestroyedError):
            read()


def test_an_owner_destroyed_with_a_view_open_raises_on_a_kept_read(name: str) -> None:
    seg = shmiface.init_instance(name, capacity=64)
    reader = shmiface.get_instance(name)
    seg.set_string("kept")
    assert seg.get_string() == "kept" and reader.get_string() == "kept"
    view = seg.borrow()  # the owner's destroy switches its handle to a shadow
    seg.destroy()
    with pytest.raises(shmiface.DestroyedError):
        seg.get_string()
    with pytest.raises(shmiface.DestroyedError):
        reader.get_string()  # the shadow keeps the mapping; the segment is gone all the same
    assert bytes(view.view) == b"kept"
    view.release()
    reader.destroy()


def test_a_value_kept_before_fork_is_refused_in_the_child(name: str) -> None:
    code = f"""
import os, shmiface
seg = shmiface.init_instance({name!r}, capacity=64)
seg.set_string("from the parent")
assert seg.get_string() == "from the parent" and seg.get_bytes() == b"from the parent"
pid = os.fork()
if pid == 0:
    bad = []
    for read in (seg.get_string, seg.get_bytes):
        try:
            read()
            bad.append("a kept read passed in the child")
        except shmiface.ShmifaceError as exc:
            if "attach again in the child" not in str(exc):
                bad.append(repr(exc))
    again = shmiface.get_instance({name!r})
    if again.get_string() != "from the parent":
        bad.append("attaching again did not read the value")
    again.set_string("from the child")
    again.destroy()
    print("\\n".join(bad))
    os._exit(1 if bad else 0)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert seg.get_string() == "from the child"
seg.destroy()
print("ok")
"""
    out = run_python(code)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().splitlines()[-1] == "ok", out.stdout


def test_threads_reading_and_writing_one_handle_never_pair_a_version_with_another_value(name: str) -> None:
    import threading

    with shmiface.init_instance(name, capacity=64) as seg:
        stop = threading.Event()
        failures: List[str] = []

        def write() -> None:
            i = 0
            while not stop.is_set():
                i += 1
                seg.set_string(f"p{i}")

        def read() -> None:
            last = 0
            while not stop.is_set():
                before = seg.version
                value = seg.get_string()
                n = _number(value) if value else 0
                if n < before or n < last:
                    failures.append(f"read p{n} after version {before} (last {last})")
                    return
                last = n

        threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join()
        assert not failures, failures
        assert os.path.exists(f"/dev/shm/{name}")
