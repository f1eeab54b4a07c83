"""asyncio: ``next_async``, ``values_async`` and ``wait_async`` never block
the event loop, and many pending waits share two threads."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from pathlib import Path
from typing import List

import pytest

import shmiface

from conftest import peer_env

SEGMENTS = 150  # awaited at once below


def waiter_threads() -> List[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("shmiface")]


def test_values_async_in_order_without_blocking_the_loop(name: str) -> None:
    with shmiface.init_instance(name, history=8) as seg:
        seg.set_bytes(b"current")

        async def main() -> tuple:
            ticks = 0
            got = []

            async def consume() -> None:
                async for m in seg.values_async():
                    got.append((m.version, m.data, m.lost))
                    if m.version == 4:
                        return

            task = asyncio.ensure_future(consume())
            for i in range(3):
                for _ in range(5):  # the loop keeps running while the reader waits
                    await asyncio.sleep(0.005)
                    ticks += 1
                seg.set_bytes(b"v%d" % i)
            await asyncio.wait_for(task, 60)
            return ticks, got

        ticks, got = asyncio.run(main())
        assert ticks == 15
        assert got == [(1, b"current", 0), (2, b"v0", 0), (3, b"v1", 0), (4, b"v2", 0)]


def test_next_async(name: str) -> None:
    with shmiface.init_instance(name, history=4) as seg:

        async def main() -> None:
            assert await seg.next_async() == shmiface.Message(0, b"", 0)
            assert await seg.next_async(0, timeout=0) is None
            started = time.monotonic()
            assert await seg.next_async(0, timeout=0.15) is None
            assert time.monotonic() - started >= 0.15
            asyncio.get_running_loop().call_later(0.05, seg.set_bytes, b"later")
            assert await asyncio.wait_for(seg.next_async(0), 60) == shmiface.Message(1, b"later", 0)
            seg.set_bytes(b"2")
            seg.set_bytes(b"3")
            assert await seg.next_async(1) == shmiface.Message(2, b"2", 0)  # already there: no wait
            with pytest.raises(shmiface.InvalidArgumentError):
                await seg.next_async(-1)

        asyncio.run(main())


def test_many_segments_awaited_at_once_share_two_threads(name: str) -> None:
    segs = [shmiface.init_instance(f"{name}{i}", history=4) for i in range(SEGMENTS)]
    try:

        async def consume(seg: shmiface.Segment) -> List[int]:
            got = []
            async for m in seg.values_async(after=0):
                got.append(m.version)
                if len(got) == 3:
                    break
            return got

        async def main() -> tuple:
            before = len(waiter_threads())
            tasks = [asyncio.ensure_future(consume(s)) for s in segs]
            await asyncio.sleep(0.3)
            threads = waiter_threads()
            # Idle, the waits must not spin: measure this process's CPU.
            cpu, wall = time.process_time(), time.monotonic()
            await asyncio.sleep(1.0)
            idle = (time.process_time() - cpu) / (time.monotonic() - wall)
            for _ in range(3):
                for s in segs:
                    s.set_bytes(b"x")
            results = await asyncio.wait_for(asyncio.gather(*tasks), 60)
            return before, threads, idle, results

        before, threads, idle, results = asyncio.run(main())
        assert len(threads) <= 2, threads  # not one per waiter
        assert before <= len(threads)
        assert results == [[1, 2, 3]] * SEGMENTS
        assert idle < 0.3, f"{SEGMENTS} idle waits used {idle:.0%} of a core"
    finally:
        for s in segs:
            s.destroy()


def test_many_wait_async_share_the_same_threads(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        handles = [shmiface.get_instance(name) for _ in range(SEGMENTS)]

        async def main() -> tuple:
            tasks = [asyncio.ensure_future(h.wait_async(timeout=60)) for h in handles]
            await asyncio.sleep(0.2)
            threads = waiter_threads()
            seg.notify()
            return threads, await asyncio.wait_for(asyncio.gather(*tasks), 60)

        threads, woke = asyncio.run(main())
        assert len(threads) <= 2, threads
        assert woke == [True] * SEGMENTS
        for h in handles:
            h.destroy()


def test_a_cancelled_next_loses_nothing(name: str) -> None:
    with shmiface.init_instance(name, history=8) as seg:

        async def main() -> List[int]:
            values = seg.values_async(after=0)
            got = []
            for i in range(6):
                if i % 2 == 0:
                    with pytest.raises(asyncio.TimeoutError):
                        await asyncio.wait_for(values.__anext__(), 0.03)  # given up while waiting
                else:
                    seg.set_bytes(b"%d" % i)
                    got.append((await asyncio.wait_for(values.__anext__(), 60)).version)
            return got

        assert asyncio.run(main()) == [1, 2, 3]


def test_values_async_ends_on_destroy_and_on_timeout(name: str) -> None:
    owner = shmiface.init_instance(name, history=4)
    reader = shmiface.get_instance(name)

    async def main() -> tuple:
        async def consume(seg: shmiface.Segment, **kw: float) -> List[int]:
            return [m.version async for m in seg.values_async(after=0, **kw)]

        timed = await asyncio.wait_for(consume(owner, timeout=0.1), 60)
        task = asyncio.ensure_future(consume(reader))
        owner.set_bytes(b"one")
        await asyncio.sleep(0.2)
        owner.destroy()
        return timed, await asyncio.wait_for(task, 60)

    timed, got = asyncio.run(main())
    assert timed == [] and got == [1]
    reader.destroy()


def test_values_async_from_a_c_producer(name: str, peer: Path) -> None:
    count = 300
    with shmiface.init_instance(name, history=16) as seg:

        async def main() -> list:
            got = []

            async def consume() -> None:
                async for m in seg.values_async(after=0):
                    got.append(m)
                    if m.version == count:
                        return

            task = asyncio.ensure_future(consume())
            proc = await asyncio.create_subprocess_exec(
                str(peer), "produce", name, str(count), env=peer_env(), stdout=subprocess.PIPE
            )
            out, _ = await proc.communicate()
            assert proc.returncode == 0 and out.split() == [b"done", str(count).encode()]
            await asyncio.wait_for(task, 60)
            return got

        got = asyncio.run(main())
        assert sum(1 + m.lost for m in got) == count  # each value read or counted lost
        assert all(m.data == b"c%d" % m.version for m in got)
