"""Waiting: the GIL is released while a thread waits, asyncio waits do not
block the event loop, and a destroy wakes waiters with DestroyedError."""

from __future__ import annotations

import asyncio
import threading

import pytest

import shmiface


def test_wait_releases_the_gil(name: str) -> None:
    seg = shmiface.init_instance(name)
    waiting = threading.Event()
    result: list[bool] = []

    def waiter() -> None:
        waiting.set()
        result.append(seg.wait(timeout=30))

    thread = threading.Thread(target=waiter)
    thread.start()
    waiting.wait()
    # Pure-Python work in this thread makes progress while the other waits.
    count = 0
    while count < 200_000:
        count += 1
    assert thread.is_alive(), "the waiter returned before any notification"
    seg.notify()
    thread.join(30)
    assert result == [True]
    seg.destroy()


def test_destroy_wakes_a_waiting_thread(name: str) -> None:
    owner = shmiface.init_instance(name)
    other = shmiface.get_instance(name)
    errors: list[BaseException] = []
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
    thread.join(30)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], shmiface.DestroyedError)
    other.destroy()


def test_wait_async_does_not_block_the_loop(name: str) -> None:
    seg = shmiface.init_instance(name)

    async def main() -> tuple[bool, int]:
        ticks = 0
        task = asyncio.ensure_future(seg.wait_async(timeout=30))
        # The loop keeps running other work while the wait is pending.
        while ticks < 20:
            await asyncio.sleep(0.005)
            ticks += 1
        assert not task.done()
        seg.notify()
        return await asyncio.wait_for(task, 30), ticks

    woke, ticks = asyncio.run(main())
    assert woke is True and ticks == 20
    seg.destroy()


def test_wait_async_times_out_and_cancels(name: str) -> None:
    seg = shmiface.init_instance(name)

    async def main() -> bool:
        assert await seg.wait_async(timeout=0.05) is False
        task = asyncio.ensure_future(seg.wait_async())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return True

    assert asyncio.run(main())
    seg.destroy()
