"""Two background threads that serve every pending asyncio wait of the
process (``wait_async``, ``next_async``, ``values_async``), however many.

The library's waits block one thread each, and it offers nothing to wait on
many segments at once; a thread per pending wait would make a thousand
awaited segments a thousand threads. Instead each pending wait is a *poll*
(a library call that takes a timeout in milliseconds and returns a result,
or None while there is none), served by:

- the *sleeper*, which blocks inside one pending wait's own library wait (a
  futex: that wait is served with no delay), a wait slice (100 ms) at a
  time: the wait whose segment produced the last result (a busy stream
  among idle ones; after a result it gives that stream's task 5 ms to ask
  again), else the newest;
- the *poller*, which polls every other pending wait without waiting, when
  it is due: 2 ms after it began, then twice as long after each empty poll,
  up to a ceiling of 100 ms, a wait slice (0.25 ms per pending wait beyond
  400, so idle waits cost at most some 4000 polls of a few microseconds a
  second, however many there are).
  A round polls each wait due within half its own tick, so idle waits soon
  fall into step: one wake-up per round rather than one per wait, since
  waking a thread costs more than a poll.

With nothing pending both block on a condition variable: no CPU at all. A
new wait wakes the poller if it would otherwise sleep past the wait's
first poll. Callers poll once without waiting on the event
loop's thread before they come here, so a value that is already there
never costs a thread hop. A wait's state (its cursor) stays with the
caller, so a cancelled wait loses nothing, and a wait polled by both
threads at once is harmless. A forked child starts without the threads.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable, List, Optional

from . import _forks
from ._slices import SLICE_MS

Poll = Callable[[int], Any]

_FIRST_TICK_S = 0.002
_CEILING_S = SLICE_MS / 1000
_CEILING_PER_WAIT_S = 0.00025
_ROUND_AT_LEAST_S = 0.002
_HOT_AGAIN_S = 0.005


class _Pending:
    __slots__ = ("poll", "key", "loop", "future", "deadline", "tick", "due")

    def __init__(self, poll: Poll, key: object, deadline: Optional[float]) -> None:
        self.poll = poll
        self.key = key  # what the poll waits on (its segment's handle)
        self.loop = asyncio.get_running_loop()
        self.future: "asyncio.Future[Any]" = self.loop.create_future()
        self.deadline = deadline
        self.tick = _FIRST_TICK_S
        self.due = time.monotonic() + _FIRST_TICK_S


def _settle(future: "asyncio.Future[Any]", result: Any, error: Optional[BaseException]) -> None:
    if future.done():  # cancelled meanwhile, or settled by the other thread
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Multiplexer:
    """The two waiter threads and the pending waits they share."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._pending: List[_Pending] = []
        self._started = False
        self._hot: object = None  # the key of the last result
        self._asleep_on: Optional[_Pending] = None  # what the sleeper serves now
        self._poller_wakes: Optional[float] = None  # when the poller's sleep ends (None: at a notify)

    def wait(self, poll: Poll, key: object, deadline: Optional[float]) -> "asyncio.Future[Any]":
        """A future for ``poll``'s first result, or None at ``deadline``
        (``time.monotonic()``; None: never). ``poll`` runs on a waiter
        thread; an exception it raises becomes the future's."""
        pending = _Pending(poll, key, deadline)
        with self._cond:
            self._pending.append(pending)
            if not self._started:
                self._started = True
                for target, name in ((self._sleeper, "shmiface-async-sleeper"), (self._poller, "shmiface-async-poller")):
                    threading.Thread(target=target, name=name, daemon=True).start()
            wakes = self._poller_wakes
            if wakes is None or wakes > pending.due + _ROUND_AT_LEAST_S or key is self._hot:
                self._cond.notify_all()
        return pending.future

    @property
    def pending(self) -> int:
        """Waits not settled yet (for tests and monitoring)."""
        return len(self._pending)

    # -- the sleeper ----------------------------------------------------

    def _sleeper(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                chosen = next((p for p in self._pending if p.key is self._hot), self._pending[-1])
                self._asleep_on = chosen
            settled = False
            try:
                settled = self._serve(chosen, self._slice_ms(chosen))
            finally:
                with self._cond:
                    self._asleep_on = None
                    if settled and chosen.key is self._hot:
                        hot = chosen.key
                        self._cond.wait_for(lambda: any(p.key is hot for p in self._pending), _HOT_AGAIN_S)

    @staticmethod
    def _slice_ms(pending: _Pending) -> int:
        if pending.deadline is None:
            return SLICE_MS
        return max(0, min(SLICE_MS, int((pending.deadline - time.monotonic()) * 1000 + 0.999)))

    # -- the poller -----------------------------------------------------

    def _poller(self) -> None:
        while True:
            with self._cond:
                others = [p for p in self._pending if p is not self._asleep_on]
                if not others:
                    self._poller_wakes = None
                    self._cond.wait()  # until a new wait (or the sleeper lets one go)
                    continue
            ceiling = max(_CEILING_S, _CEILING_PER_WAIT_S * len(others))
            now = time.monotonic()
            wake = now + ceiling
            for pending in others:
                if pending.due - pending.tick / 2 <= now or pending.future.done():
                    if self._serve(pending, 0):
                        continue
                    pending.tick = min(2 * pending.tick, ceiling)
                    pending.due = now + pending.tick
                wake = min(wake, pending.due, pending.deadline or wake)
            with self._cond:
                seconds = max(wake - time.monotonic(), _ROUND_AT_LEAST_S)
                self._poller_wakes = time.monotonic() + seconds
                self._cond.wait(seconds)

    # -- both -----------------------------------------------------------

    def _serve(self, pending: _Pending, timeout_ms: int) -> bool:
        """Polls one wait; True once it is settled (or given up)."""
        if pending.future.done():  # cancelled: its caller is gone
            self._remove(pending)
            return True
        try:
            result = pending.poll(timeout_ms)
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting task
            self._finish(pending, None, exc)
            return True
        if result is not None:
            self._hot = pending.key  # the stream most likely to produce again
            self._finish(pending, result, None)
            return True
        if pending.deadline is not None and time.monotonic() >= pending.deadline:
            self._finish(pending, None, None)
            return True
        return False

    def _finish(self, pending: _Pending, result: Any, error: Optional[BaseException]) -> None:
        if not self._remove(pending):
            return  # the other thread settled it
        try:
            pending.loop.call_soon_threadsafe(_settle, pending.future, result, error)
        except RuntimeError:  # the loop was closed: nobody is waiting any more
            pass

    def _remove(self, pending: _Pending) -> bool:
        with self._cond:
            try:
                self._pending.remove(pending)
            except ValueError:
                return False
            return True


_instance = Multiplexer()


def multiplexer() -> Multiplexer:
    """This process's waiter threads (started on first use)."""
    return _instance


def _forget_after_fork() -> None:
    global _instance
    _instance = Multiplexer()


_forks.on_fork_in_child(_forget_after_fork)
