"""Waiting: the GIL is released while a thread waits, asyncio waits do not
block the event loop, cancelled waits lose nothing, and a destroy wakes
waiters with DestroyedError. Timeouts here are hang guards, never timings."""

from __future__ import annotations

import asyncio
import threading

import pytest

import shmiface


def test_wait_releases_the_gil(name: str) -> None:
    seg = shmiface.init_instance(name)
    waiting = threading.Event()
    result: list = []

    def waiter() -> None:
        waiting.set()
        result.append(seg.wait(timeout=60))

    thread = threading.Thread(target=waiter)
    thread.start()
    waiting.wait()
    # Pure-Python work in this thread makes progress while the other waits.
    count = 0
    while count < 200_000:
        count += 1
    assert thread.is_alive(), "the waiter returned before any notification"
    seg.notify()
    thread.join(60)
    assert result == [True]
    seg.destroy()


def test_a_waiter_in_another_thread_sees_the_value(name: str) -> None:
    owner = shmiface.init_instance(name)
    reader = shmiface.get_instance(name)
    seen: list = []
    ready = threading.Event()

    def waiter() -> None:
        ready.set()
        while True:
            assert reader.wait(timeout=60)
            value = reader.get_string()
            seen.append(value)
            if value == "last":
                return

    thread = threading.Thread(target=waiter)
    thread.start()
    ready.wait()
    for value in ("first", "second", "last"):
        owner.set_string_notify(value)
    thread.join(60)
    assert seen[-1] == "last"
    reader.destroy()
    owner.destroy()


def test_wait_with_an_infinite_timeout(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        timer = threading.Timer(0.05, seg.notify)
        timer.start()
        try:
            assert seg.wait(timeout=float("inf")) is True
        finally:
            timer.cancel()


def test_a_timeout_longer_than_a_slice_still_times_out(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        assert seg.wait(timeout=0.25) is False
        # ... and a notification during a later slice is seen.
        timer = threading.Timer(0.15, seg.notify)
        timer.start()
        try:
            assert seg.wait(timeout=60) is True
        finally:
            timer.cancel()


def test_destroy_wakes_a_waiting_thread(name: str) -> None:
    owner = shmiface.init_instance(name)
    other = shmiface.get_instance(name)
    errors: list = []
    started = threading.Event()

    def waiter() -> None:
        started.set()
        try:
            other.wait()
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            errors.append(exc)

    thread = threading.Thread(target=waiter)
    thread.start()
    started.wait()
    owner.destroy()
    thread.join(60)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], shmiface.DestroyedError)
    other.destroy()


def test_wait_async_does_not_block_the_loop(name: str) -> None:
    seg = shmiface.init_instance(name)

    async def main() -> int:
        ticks = 0
        task = asyncio.ensure_future(seg.wait_async(timeout=60))
        # The loop keeps running other work while the wait is pending.
        while ticks < 20:
            await asyncio.sleep(0.005)
            ticks += 1
        assert not task.done()
        seg.notify()
        assert await asyncio.wait_for(task, 60) is True
        return ticks

    assert asyncio.run(main()) == 20
    seg.destroy()


def test_wait_async_times_out_and_polls(name: str) -> None:
    with shmiface.init_instance(name) as seg:

        async def main() -> None:
            assert await seg.wait_async(timeout=0) is False
            assert await seg.wait_async(timeout=0.15) is False
            seg.notify()
            assert await seg.wait_async(timeout=0) is True

        asyncio.run(main())


def test_a_cancelled_wait_async_loses_no_notification(name: str) -> None:
    with shmiface.init_instance(name) as seg:

        async def main() -> bool:
            task = asyncio.ensure_future(seg.wait_async())
            await asyncio.sleep(0.02)  # the worker is now blocked in the library
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The worker is still inside its slice and catches this one; the
            # notification must stay for the next wait, not vanish with the task.
            seg.notify()
            return await seg.wait_async(timeout=60)

        assert asyncio.run(main()) is True


def test_wait_async_under_wait_for_timeouts(name: str) -> None:
    # A common loop: give up after a while, try again. Nothing is lost.
    with shmiface.init_instance(name) as seg:

        async def main() -> int:
            woke = 0
            for i in range(6):
                if i % 2 == 0:
                    # Nothing notifies: this wait is given up (cancelled) ...
                    with pytest.raises(asyncio.TimeoutError):
                        await asyncio.wait_for(seg.wait_async(), 0.03)
                else:
                    # ... while its worker is still blocked; this notification
                    # must reach the next wait (60 s is only a hang guard).
                    seg.notify()
                    woke += await asyncio.wait_for(seg.wait_async(), 60)
            return woke

        assert asyncio.run(main()) == 3


def test_wait_async_raises_destroyed(name: str) -> None:
    owner = shmiface.init_instance(name)
    other = shmiface.get_instance(name)

    async def main() -> None:
        task = asyncio.ensure_future(other.wait_async())
        await asyncio.sleep(0.02)
        owner.destroy()
        with pytest.raises(shmiface.DestroyedError):
            await asyncio.wait_for(task, 60)

    asyncio.run(main())
    other.destroy()


def test_many_concurrent_async_waiters(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        handles = [shmiface.get_instance(name) for _ in range(10)]

        async def main() -> list:
            tasks = [asyncio.ensure_future(h.wait_async(timeout=60)) for h in handles]
            await asyncio.sleep(0.05)
            seg.set_string_notify("all of you")
            return await asyncio.wait_for(asyncio.gather(*tasks), 60)

        assert asyncio.run(main()) == [True] * 10
        for h in handles:
            h.destroy()
