"""Zero copy: borrows (read in place) and loans (write in place), and
their views' lifetime: no view outlives its mapping, whatever is kept."""

from __future__ import annotations

import gc
import os
import threading
import time
from typing import Callable

import pytest

import shmiface

from conftest import run_python


def mapped(name: str) -> bool:
    """Whether this process still maps the segment's object."""
    with open("/proc/self/maps") as maps:
        return any(f"/dev/shm/{name}" in line for line in maps)


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60  # a hang guard, not a timing
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.001)


# -- borrows ------------------------------------------------------------


def test_borrow_reads_in_place(name: str) -> None:
    with shmiface.init_instance(name, capacity=64, history=4) as seg:
        seg.set_bytes(b"first")
        v = seg.set_bytes(b"second")
        with seg.borrow() as b:
            assert isinstance(b, shmiface.Borrow)
            assert (b.version, bytes(b.view), b.lost) == (v, b"second", 0)
            assert b.view.readonly
            with pytest.raises(TypeError):
                b.view[0] = 1  # type: ignore[index]
        with seg.borrow(after=0) as b:
            assert (b.version, bytes(b.view), b.lost) == (1, b"first", 0)
        with seg.borrow() as b:
            assert bytes(b.view) == seg.get_bytes()


def test_borrow_waits_and_times_out(name: str) -> None:
    with shmiface.init_instance(name, history=4) as seg:
        v = seg.set_bytes(b"old")
        with pytest.raises(shmiface.WaitTimeoutError):
            seg.borrow(after=v, timeout=0)
        with pytest.raises(shmiface.WaitTimeoutError):
            seg.borrow(after=v, timeout=0.12)
        timer = threading.Timer(0.1, lambda: seg.set_bytes(b"new"))
        timer.start()
        try:
            with seg.borrow(after=v, timeout=60) as b:
                assert (b.version, bytes(b.view)) == (v + 1, b"new")
        finally:
            timer.join()


def test_a_borrow_held_across_history_plus_one_sets_is_overwritten(name: str) -> None:
    history = 4
    with shmiface.init_instance(name, history=history) as seg:
        seg.set_bytes(b"borrowed")
        with pytest.raises(shmiface.OverwrittenError) as caught:
            with seg.borrow() as b:
                for i in range(history + 1):
                    seg.set_bytes(b"%d" % i)
        assert caught.value.status == 17
        assert isinstance(caught.value, shmiface.ShmifaceError)
        # Fewer than history newer sets leave a borrow intact.
        seg.set_bytes(b"borrowed again")
        with seg.borrow() as b:
            for i in range(history - 1):
                seg.set_bytes(b"%d" % i)
            assert bytes(b.view) == b"borrowed again"


def test_release_reports_once_and_a_body_error_is_not_masked(name: str) -> None:
    with shmiface.init_instance(name, history=1) as seg:
        b = seg.borrow()
        seg.set_bytes(b"over")
        seg.set_bytes(b"over")  # history + 1 sets
        with pytest.raises(shmiface.OverwrittenError):
            b.release()
        b.release()  # already released: nothing more to say
        with pytest.raises(KeyError):
            with seg.borrow():
                seg.set_bytes(b"over again")
                seg.set_bytes(b"over again")
                raise KeyError("the block's own error")


# -- loans --------------------------------------------------------------


def test_loan_writes_in_place_and_publishes(name: str) -> None:
    with shmiface.init_instance(name, capacity=256, history=2) as seg:
        reader = shmiface.get_instance(name)
        with seg.loan() as loan:
            assert isinstance(loan, shmiface.Loan)
            assert len(loan.buffer) == 256 and not loan.buffer.readonly
            loan.buffer[:5] = b"hello"
            assert reader.version == 0  # nothing is visible before the publish
            v = loan.publish(5)
        assert v == 1 == loan.version and not loan.open
        assert reader.get_bytes() == b"hello"
        assert reader.next(0) == shmiface.Message(1, b"hello", 0)
        with pytest.raises(ValueError):
            loan.buffer[0]  # released with the loan: no write into a published value
        reader.destroy()


def test_leaving_a_loan_without_publishing_discards(name: str) -> None:
    with shmiface.init_instance(name, capacity=64) as seg:
        seg.set_bytes(b"kept")
        with seg.loan() as loan:
            loan.buffer[:4] = b"lost"
        assert seg.get_bytes() == b"kept" and seg.version == 1
        with pytest.raises(RuntimeError):
            with seg.loan() as loan:
                loan.buffer[:4] = b"lost"
                raise RuntimeError("boom")
        assert seg.get_bytes() == b"kept"
        seg.set_bytes(b"writers go on")  # the lock was given back both times


def test_publish_with_notify_wakes_a_waiter(name: str) -> None:
    with shmiface.init_instance(name, capacity=64) as seg:
        other = shmiface.get_instance(name)
        woke = []
        t = threading.Thread(target=lambda: woke.append(other.wait(timeout=60)))
        t.start()
        time.sleep(0.05)
        with seg.loan() as loan:
            loan.buffer[:2] = b"hi"
            loan.publish(2, notify=True)
        t.join(60)
        assert woke == [True] and other.get_bytes() == b"hi"
        other.destroy()


def test_publish_errors(name: str) -> None:
    with shmiface.init_instance(name, capacity=64) as seg:
        with seg.loan() as loan:
            with pytest.raises(shmiface.TooLargeError):
                loan.publish(65)
            assert loan.open  # still open after TOO_LARGE
            with pytest.raises(shmiface.InvalidArgumentError):
                loan.publish(-1)
            assert loan.publish(0) == 1
            with pytest.raises(shmiface.InvalidArgumentError):
                loan.publish(0)  # ended
        assert seg.get_bytes() == b""


def test_a_set_inside_an_open_loan_on_the_same_thread_is_busy(name: str) -> None:
    with shmiface.init_instance(name, capacity=64) as seg:
        with seg.loan() as loan:
            for write in (lambda: seg.set_bytes(b"x"), lambda: seg.set_string("x"),
                          lambda: seg.compare_and_set(0, b"x")):
                with pytest.raises(shmiface.BusyError) as caught:
                    write()
                assert caught.value.status == 19
            with pytest.raises(shmiface.BusyError):
                seg.loan()
            loan.buffer[:1] = b"L"
            loan.publish(1)
        assert seg.set_bytes(b"after") == 2


def test_another_thread_waits_for_the_loan(name: str) -> None:
    with shmiface.init_instance(name, capacity=64, history=4) as seg:
        versions = []
        with seg.loan() as loan:
            t = threading.Thread(target=lambda: versions.append(seg.set_bytes(b"second")))
            t.start()
            time.sleep(0.05)
            assert t.is_alive()  # waiting for the writer lock, not busy
            loan.buffer[:5] = b"first"
            loan.publish(5)
        t.join(60)
        assert versions == [2]
        assert [m.data for m in seg.values(0, timeout=0)] == [b"first", b"second"]


def test_a_loan_is_ended_by_its_own_thread(name: str) -> None:
    with shmiface.init_instance(name, capacity=64) as seg:
        with seg.loan() as loan:
            errors = []

            def elsewhere() -> None:
                try:
                    loan.publish(1)
                except shmiface.InvalidArgumentError as exc:
                    errors.append(exc)

            t = threading.Thread(target=elsewhere)
            t.start()
            t.join(60)
            assert len(errors) == 1 and loan.open


def test_a_dropped_loan_is_discarded(name: str) -> None:
    with shmiface.init_instance(name, capacity=64) as seg:
        loan = seg.loan()
        loan.buffer[:1] = b"x"
        del loan
        gc.collect()
        assert seg.set_bytes(b"the lock is free") == 1


# -- numpy --------------------------------------------------------------


def test_numpy_without_copies_both_ways(name: str) -> None:
    np = pytest.importorskip("numpy")
    x = np.arange(1000, dtype=np.float32)
    with shmiface.init_instance(name, capacity=x.nbytes, history=2) as seg:
        with seg.loan() as loan:
            target = np.frombuffer(loan.buffer, np.float32)
            assert not np.shares_memory(target, x)
            target[:] = x
            loan.publish(x.nbytes)
        with seg.borrow() as b:
            arr = np.frombuffer(b.view, np.float32)
            assert not arr.flags.writeable
            assert np.array_equal(arr, x)
            # The array is the shared memory itself: once history + 1 sets
            # reuse its slot, a later value shows through it.
            for i in range(1, seg.history + 2):
                seg.set_bytes((x + i).tobytes())
            assert not np.array_equal(arr, x)
            with pytest.raises(shmiface.OverwrittenError):
                b.release()


# -- lifetime -----------------------------------------------------------


def test_destroy_while_a_view_is_open_then_read_then_drop(name: str) -> None:
    seg = shmiface.init_instance(name, capacity=1 << 16, history=2)
    data = bytes(range(256)) * 256
    seg.set_bytes(data)
    b = seg.borrow()
    seg.destroy()  # waits for nothing ...
    assert not os.path.exists(f"/dev/shm/{name}")  # ... and the owner's destroy is seen at once
    with pytest.raises(shmiface.DestroyedError):
        seg.get_bytes()
    assert bytes(b.view) == data  # the mapping stays under the view
    assert mapped(name)
    b.release()  # still answers
    assert bytes(b.view) == data  # the view outlives the borrow
    del b
    gc.collect()
    assert not mapped(name)  # the last view went: so did the mapping


def test_a_numpy_array_outlives_the_with_block_and_the_destroy(name: str) -> None:
    np = pytest.importorskip("numpy")
    seg = shmiface.init_instance(name, capacity=4096, history=2)
    seg.set_bytes(np.arange(512, dtype=np.float64).tobytes())
    with seg.borrow() as b:
        arr = np.frombuffer(b.view, np.float64)[::2]  # a view of a view of the view
    del b
    seg.destroy()
    gc.collect()
    assert mapped(name)
    assert arr.sum() == sum(range(0, 512, 2))
    del arr
    gc.collect()
    assert not mapped(name)


def test_an_attachers_views_keep_its_mapping_after_the_owner_goes(name: str) -> None:
    owner = shmiface.init_instance(name, capacity=64)
    reader = shmiface.get_instance(name)
    owner.set_bytes(b"kept bytes")
    with reader.borrow() as b:
        view = b.view
    reader.destroy()
    owner.destroy()
    assert not os.path.exists(f"/dev/shm/{name}")
    assert mapped(name) and bytes(view) == b"kept bytes"
    view.release()  # memoryview.release ends the lease too
    del b
    gc.collect()
    assert not mapped(name)


def test_destroy_from_another_thread_while_a_loan_is_open(name: str) -> None:
    np = pytest.importorskip("numpy")
    seg = shmiface.init_instance(name, capacity=64)
    with seg.loan() as loan:
        arr = np.frombuffer(loan.buffer, np.uint8)
        t = threading.Thread(target=seg.destroy)
        t.start()
        t.join(60)
        assert not t.is_alive()  # the destroy waited for nothing
        arr[:] = 7  # writing into the loaned slot cannot crash
        with pytest.raises(shmiface.DestroyedError):
            loan.publish(64)
    assert mapped(name)  # the array still holds the slot
    assert int(arr.sum()) == 7 * 64
    del arr, loan
    gc.collect()
    assert not mapped(name)


def test_garbage_collecting_a_segment_with_a_view_open(name: str) -> None:
    seg = shmiface.init_instance(name, capacity=64)
    seg.set_bytes(b"abc")
    view = seg.borrow().view
    del seg
    gc.collect()
    assert not os.path.exists(f"/dev/shm/{name}")
    assert bytes(view) == b"abc"
    del view
    gc.collect()
    assert not mapped(name)


def test_views_of_many_borrows_and_destroy_never_crash(name: str) -> None:
    # In a child, so that a use after unmap would fail this test, not the run.
    code = f"""
import gc, shmiface, threading
seg = shmiface.init_instance({name!r}, capacity=4096, history=4)
seg.set_bytes(b"x" * 4096)
views = [seg.borrow().view for _ in range(50)]
loan_views = []
def writer():
    for i in range(200):
        try:
            seg.set_bytes(bytes([i % 256]) * 4096)
        except shmiface.DestroyedError:
            return
t = threading.Thread(target=writer); t.start()
seg.destroy(); t.join()
total = sum(sum(v) for v in views)
views = None
gc.collect()
print("ok", total > 0, any("/dev/shm/{name}" in l for l in open("/proc/self/maps")))
"""
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", "True", "False"]


def test_an_attacher_destroyed_with_views_open_destroys_its_handle_with_the_last(name: str) -> None:
    owner = shmiface.init_instance(name, capacity=64)
    reader = shmiface.get_instance(name)
    owner.set_bytes(b"v")
    first, second = reader.borrow().view, reader.borrow().view
    reader.destroy()
    assert owner.info().owner_alive and os.path.exists(f"/dev/shm/{name}")
    owner.destroy()
    del first
    gc.collect()
    assert mapped(name)
    del second
    gc.collect()
    _until(lambda: not mapped(name))
