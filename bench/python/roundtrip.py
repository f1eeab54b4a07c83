"""Round-trip latency between two processes, a 128-byte str each way, for
three channels: shmiface (a ping and a pong segment with notifications),
multiprocessing.Pipe, and POSIX shared memory with two posix_ipc semaphores.

The parent owns every named object and times each round trip; a spawned
partner process echoes every message back. Both walk the same plan, so
both know every message in advance and check it on arrival: a lost, stale
or garbled message fails the run instead of producing a fast number.
"""

from __future__ import annotations

import contextlib
import mmap
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Dict, Iterator, List, Protocol, Tuple

import posix_ipc

import shmiface

PAYLOAD = 128
VARIANTS = ("shmiface", "mp_pipe", "posix_ipc")
# 'spawn': the partner starts clean. A forked one would inherit the
# parent's shmiface handles, whose finalizers would then run in it.
_CTX = multiprocessing.get_context("spawn")
# How long the parent waits for a partner that has sent "done" to exit.
_JOIN_SECONDS = 10.0
# How long a failing parent waits to learn whether the partner died first.
_DYING_SECONDS = 1.0

# (variant, round trips, timed); the partner ignores "timed".
Plan = List[Tuple[str, int, bool]]


class BenchError(RuntimeError):
    """Something measured went wrong: a wrong payload, a dead partner."""


def message(seq: int) -> str:
    """The seq-th message of a run: PAYLOAD ASCII characters, unique per seq."""
    return f"{seq:012d}".ljust(PAYLOAD, "x")


def _messages(first: int, count: int) -> List[str]:
    # Built before a loop runs, so that building them is never timed.
    return [message(seq) for seq in range(first, first + count)]


class End(Protocol):
    """One process's end of a channel."""

    def send(self, text: str) -> None: ...

    def receive(self) -> str: ...


class ShmifaceEnd:
    """Sends on one segment and receives on the other. ``wait`` counts from
    the handle's own cursor (the notification count when the handle was
    made, then after each successful wait), so a notification made before
    the wait starts is not missed; the Python API has no explicit cursor."""

    def __init__(self, outbox: shmiface.Segment, inbox: shmiface.Segment) -> None:
        self._outbox = outbox
        self._inbox = inbox

    def send(self, text: str) -> None:
        self._outbox.set_string_notify(text)

    def receive(self) -> str:
        self._inbox.wait()  # no timeout: returns only on a notification, or raises
        return self._inbox.get_string()


class PipeEnd:
    """One end of a duplex multiprocessing.Pipe."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def send(self, text: str) -> None:
        self._conn.send_bytes(text.encode())

    def receive(self) -> str:
        return self._conn.recv_bytes().decode()


class PosixIpcEnd:
    """A PAYLOAD-byte slot each way in one shared mapping; a semaphore per
    direction says "your slot is full"."""

    def __init__(
        self, area: mmap.mmap, out_slot: int, sem_out: posix_ipc.Semaphore, sem_in: posix_ipc.Semaphore
    ) -> None:
        self._area = area
        self._out = slice(out_slot * PAYLOAD, (out_slot + 1) * PAYLOAD)
        self._in = slice((1 - out_slot) * PAYLOAD, (2 - out_slot) * PAYLOAD)
        self._sem_out = sem_out
        self._sem_in = sem_in

    def send(self, text: str) -> None:
        self._area[self._out] = text.encode()  # IndexError unless exactly PAYLOAD bytes
        self._sem_out.release()

    def receive(self) -> str:
        self._sem_in.acquire()
        return self._area[self._in].decode()


@dataclass(frozen=True)
class Names:
    """Every named object of one run; the pid keeps parallel runs apart."""

    ping: str
    pong: str
    shm: str
    sem_ping: str
    sem_pong: str

    @classmethod
    def for_pid(cls, pid: int) -> "Names":
        base = f"shmiface-pybench-{pid}-rtt"
        return cls(f"{base}-ping", f"{base}-pong", f"/{base}-shm", f"/{base}-sem-ping", f"/{base}-sem-pong")


def _map(memory: posix_ipc.SharedMemory, stack: contextlib.ExitStack) -> mmap.mmap:
    area = mmap.mmap(memory.fd, memory.size)
    memory.close_fd()  # the mapping stays valid without the descriptor
    stack.callback(area.close)
    return area


def _parent_ends(names: Names, stack: contextlib.ExitStack) -> Tuple[Dict[str, End], Connection]:
    """Creates every channel (the parent owns all names) and registers its
    cleanup on ``stack``; returns the parent's ends and the partner's pipe end."""
    ping = shmiface.init_instance(names.ping, capacity=PAYLOAD)
    stack.callback(ping.destroy)  # the owner's destroy unlinks
    pong = shmiface.init_instance(names.pong, capacity=PAYLOAD)
    stack.callback(pong.destroy)

    mine, theirs = _CTX.Pipe()
    stack.callback(mine.close)

    memory = posix_ipc.SharedMemory(names.shm, posix_ipc.O_CREX, size=2 * PAYLOAD)
    stack.callback(memory.unlink)
    area = _map(memory, stack)
    sem_ping = _new_semaphore(names.sem_ping, stack)
    sem_pong = _new_semaphore(names.sem_pong, stack)

    ends: Dict[str, End] = {
        "shmiface": ShmifaceEnd(ping, pong),
        "mp_pipe": PipeEnd(mine),
        "posix_ipc": PosixIpcEnd(area, 0, sem_ping, sem_pong),
    }
    return ends, theirs


def _new_semaphore(name: str, stack: contextlib.ExitStack) -> posix_ipc.Semaphore:
    sem = posix_ipc.Semaphore(name, posix_ipc.O_CREX, initial_value=0)
    stack.callback(sem.close)
    stack.callback(sem.unlink)  # runs first: unlink needs it open
    return sem


def _partner_ends(names: Names, conn: Connection, stack: contextlib.ExitStack) -> Dict[str, End]:
    """Attaches to the parent's channels; closes (never unlinks) them on exit."""
    ping = stack.enter_context(shmiface.get_instance(names.ping))
    pong = stack.enter_context(shmiface.get_instance(names.pong))
    area = _map(posix_ipc.SharedMemory(names.shm), stack)
    sem_ping = posix_ipc.Semaphore(names.sem_ping)
    stack.callback(sem_ping.close)
    sem_pong = posix_ipc.Semaphore(names.sem_pong)
    stack.callback(sem_pong.close)
    return {
        "shmiface": ShmifaceEnd(pong, ping),
        "mp_pipe": PipeEnd(conn),
        "posix_ipc": PosixIpcEnd(area, 1, sem_pong, sem_ping),
    }


def _partner(names: Names, conn: Connection, control: Connection, plan: Plan, deadline_s: int) -> None:
    """The echoing process. Any error ends it with a traceback and a
    non-zero exit, which the parent turns into a failure."""
    signal.alarm(deadline_s)  # default action kills it: never outlive a stuck parent
    with contextlib.ExitStack() as stack:
        ends = _partner_ends(names, conn, stack)
        # Only now may the parent notify: these handles' cursors start here.
        control.send("ready")
        seq = 0
        for variant, count, _timed in plan:
            _echo(ends[variant], _messages(seq, count))
            seq += count
        control.send("done")


def _echo(end: End, expected: List[str]) -> None:
    send, receive = end.send, end.receive
    for want in expected:
        got = receive()
        if got != want:
            raise BenchError(f"partner received {got[:16]!r}..., expected {want[:16]!r}...")
        send(got)


def _time_round_trips(end: End, messages: List[str]) -> List[int]:
    """Nanoseconds of each round trip; checks every reply."""
    send, receive, clock = end.send, end.receive, time.perf_counter_ns
    samples = []
    for msg in messages:
        start = clock()
        send(msg)
        reply = receive()
        samples.append(clock() - start)
        if reply != msg:
            raise BenchError(f"reply {reply[:16]!r}... to {msg[:16]!r}...")
    return samples


def make_plan(warmup: int, rounds: int, per_round: int) -> Plan:
    """Warm-up of every variant, then the variants interleaved round by round."""
    plan = [(variant, warmup, False) for variant in VARIANTS]
    for _ in range(rounds):
        plan.extend((variant, per_round, True) for variant in VARIANTS)
    return plan


def _partner_died(partner: multiprocessing.process.BaseProcess) -> bool:
    return partner.exitcode not in (None, 0)


@contextlib.contextmanager
def _fail_when_partner_dies(partner: multiprocessing.process.BaseProcess) -> Iterator[None]:
    """A partner that dies would leave the parent blocked forever: SIGCHLD
    interrupts the parent's wait, and whatever that raises (a posix_ipc
    SignalError, say) is reported as the partner's death. Use it around the
    measuring only, never around cleanup: an exception raised from a signal
    handler can land anywhere, so the handler disarms itself before raising."""

    def on_child(_signum: int, _frame: object) -> None:
        if _partner_died(partner):
            signal.signal(signal.SIGCHLD, previous)
            raise BenchError(f"partner process exited with status {partner.exitcode}")

    previous = signal.signal(signal.SIGCHLD, on_child)
    try:
        yield
    except Exception as exc:
        # Its pipes close just before it can be reaped: give it a moment.
        partner.join(_DYING_SECONDS)
        if _partner_died(partner) and not isinstance(exc, BenchError):
            raise BenchError(f"partner process exited with status {partner.exitcode}") from exc
        raise
    finally:
        signal.signal(signal.SIGCHLD, previous)


def _run_plan(ends: Dict[str, End], control: Connection, plan: Plan) -> Dict[str, List[List[int]]]:
    """Per variant, the samples of each timed round."""
    rounds: Dict[str, List[List[int]]] = {variant: [] for variant in VARIANTS}
    _expect(control, "ready")
    seq = 0
    for variant, count, timed in plan:
        samples = _time_round_trips(ends[variant], _messages(seq, count))
        seq += count
        if timed:
            rounds[variant].append(samples)
    _expect(control, "done")
    return rounds


def measure(plan: Plan, deadline_s: int) -> Dict[str, List[List[int]]]:
    """Runs ``plan`` against a partner process; per variant, the samples of
    each timed round. Every named object is unlinked whatever happens."""
    names = Names.for_pid(os.getpid())
    with contextlib.ExitStack() as stack:
        ends, partner_conn = _parent_ends(names, stack)
        control, partner_control = _CTX.Pipe()
        stack.callback(control.close)
        args = (names, partner_conn, partner_control, plan, deadline_s)
        partner = _CTX.Process(target=_partner, args=args, name="bench-partner")
        partner.start()
        stack.callback(_stop, partner)
        # Our copies of the partner's ends, closed so its death reads as EOF here.
        partner_conn.close()
        partner_control.close()
        with _fail_when_partner_dies(partner):
            rounds = _run_plan(ends, control, plan)
        partner.join(_JOIN_SECONDS)
        if partner.exitcode != 0:
            raise BenchError(f"partner process ended with status {partner.exitcode}")
    return rounds


def _expect(control: Connection, word: str) -> None:
    try:
        got = control.recv()
    except EOFError:
        raise BenchError(f"partner process closed its control pipe before saying {word!r}") from None
    if got != word:
        raise BenchError(f"partner said {got!r}, expected {word!r}")


def _stop(partner: multiprocessing.process.BaseProcess) -> None:
    if partner.is_alive():
        partner.kill()
    partner.join()
