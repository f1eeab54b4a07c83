"""shmiface from Python, against what the standard library and posix_ipc offer.

    python bench/python/bench_python.py OUT.json [--quick]

Measures, all in nanoseconds:
  * set and get of a 128-byte str: a shmiface Segment against a
    multiprocessing.shared_memory block (length + bytes) guarded by a
    multiprocessing.Lock; same process, rounds interleaved;
  * the round trip of a 128-byte str between two processes: shmiface
    notifications, multiprocessing.Pipe, POSIX shared memory + posix_ipc
    semaphores (see roundtrip.py);
  * an empty call through the package's cffi ``lib``, for reference.

Writes OUT.json ({"source", "quick", "metrics", "samples", "params"}) and a
summary on stderr.
``--quick`` runs tiny sizes in about two seconds, so ``make test`` keeps the
benchmark working. Needs the shmiface package on PYTHONPATH (bindings/python)
and SHMIFACE_LIB naming the library; exits non-zero with a message on stderr
if anything measured misbehaves.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import multiprocessing
import os
import signal
import statistics
import struct
import sys
import time
from dataclasses import asdict, dataclass
from itertools import repeat
from multiprocessing import shared_memory
from typing import Any, Callable, Dict, Iterator, List

try:
    import posix_ipc

    import shmiface
    from shmiface._lib import lib as cffi_lib
except ImportError as exc:
    sys.exit(
        f"bench_python: {exc}\n"
        "run with PYTHONPATH=bindings/python SHMIFACE_LIB=<libshmiface.so>, "
        "after pip install -r bench/requirements.txt"
    )

# Beside this file: a script's own directory is on sys.path.
import roundtrip
from roundtrip import PAYLOAD, BenchError


@dataclass(frozen=True)
class Sizes:
    """How much to measure."""

    rounds: int  # in-process rounds (set/get, empty call)
    ops: int  # set or get calls per round
    empty_ops: int  # empty cffi calls per round
    rtt_warmup: int  # untimed round trips per variant
    rtt_rounds: int  # timed rounds, each variant once per round
    rtt_per_round: int  # round trips per variant per round
    deadline_s: int  # the whole run fails past this (a hang guard)


SAMPLE_CAP = 20000
QUICK = Sizes(
    rounds=5, ops=10000, empty_ops=100000, rtt_warmup=200, rtt_rounds=3, rtt_per_round=1000, deadline_s=60
)
FULL = Sizes(
    rounds=61,
    ops=60000,
    empty_ops=400000,
    rtt_warmup=500,
    rtt_rounds=10,
    rtt_per_round=SAMPLE_CAP // 10,  # every sample fits in the output
    deadline_s=300,
)


class LockedSharedString:
    """The baseline: a str in a multiprocessing.shared_memory block (4-byte
    length, then the UTF-8 bytes) guarded by a multiprocessing.Lock, with
    the same two calls as a Segment; ``get_string`` returns a str too."""

    _LENGTH = struct.Struct("<I")

    def __init__(self, name: str, capacity: int) -> None:
        self._memory = shared_memory.SharedMemory(name, create=True, size=self._LENGTH.size + capacity)
        self._buf = self._memory.buf
        self._lock = multiprocessing.Lock()

    def set_string(self, value: str) -> None:
        data = value.encode()
        start = self._LENGTH.size
        with self._lock:
            # Bytes first: one that does not fit raises before the length changes.
            self._buf[start : start + len(data)] = data
            self._LENGTH.pack_into(self._buf, 0, len(data))

    def get_string(self) -> str:
        start = self._LENGTH.size
        with self._lock:
            (length,) = self._LENGTH.unpack_from(self._buf, 0)
            data = bytes(self._buf[start : start + length])
        return data.decode()

    def close(self) -> None:
        self._memory.close()
        self._memory.unlink()


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """As timeit does: a collection landing in one loop would skew it."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# Two timers rather than one taking ``*args``: unpacking arguments in the
# timed loop would add its own cost to both sides of a ratio.
def _ns_per_call(call: Callable[[], Any], n: int) -> float:
    clock = time.perf_counter_ns
    with _no_gc():
        start = clock()
        for _ in repeat(None, n):
            call()
        return (clock() - start) / n


def _ns_per_call_with(call: Callable[[str], Any], arg: str, n: int) -> float:
    clock = time.perf_counter_ns
    with _no_gc():
        start = clock()
        for _ in repeat(None, n):
            call(arg)
        return (clock() - start) / n


def bench_set_get(sizes: Sizes) -> Dict[str, List[float]]:
    """ns/op of every round, keyed by metric id. Within a round, each
    operation runs on both implementations, the first one alternating."""
    payload = roundtrip.message(0)
    tag = f"shmiface-pybench-{os.getpid()}"
    runs: Dict[str, List[float]] = {
        f"py.{op}128.{impl}": [] for op in ("set", "get") for impl in ("shmiface", "mp_lock")
    }
    with contextlib.ExitStack() as stack:
        segment = stack.enter_context(shmiface.init_instance(f"{tag}-setget", capacity=PAYLOAD))
        baseline = LockedSharedString(f"{tag}-mp", PAYLOAD)
        stack.callback(baseline.close)
        impls = [("shmiface", segment), ("mp_lock", baseline)]
        for r in range(sizes.rounds):
            order = impls if r % 2 == 0 else impls[::-1]
            for impl, target in order:
                runs[f"py.set128.{impl}"].append(_ns_per_call_with(target.set_string, payload, sizes.ops))
            for impl, target in order:
                runs[f"py.get128.{impl}"].append(_ns_per_call(target.get_string, sizes.ops))
                if target.get_string() != payload:
                    raise BenchError(f"{impl}: get_string does not return what was set")
        # Every set took effect (the value alone could not tell: it never changes).
        if segment.version != sizes.rounds * sizes.ops:
            raise BenchError(f"shmiface: version {segment.version} after {sizes.rounds * sizes.ops} sets")
    return runs


def bench_empty_call(sizes: Sizes) -> List[float]:
    """ns/op of ``shmiface_abi_version``, the cheapest function, per round."""
    call = cffi_lib.shmiface_abi_version
    if call() != shmiface.ABI_VERSION:
        raise BenchError("shmiface_abi_version does not return the package's ABI version")
    return [_ns_per_call(call, sizes.empty_ops) for _ in range(sizes.rounds)]


def p99(samples: List[int]) -> float:
    """Nearest-rank 99th percentile."""
    ordered = sorted(samples)
    return float(ordered[math.ceil(0.99 * len(ordered)) - 1])


LABELS = {
    "py.set128.shmiface": "Python set 128 B, shmiface",
    "py.set128.mp_lock": "Python set 128 B, shared_memory + Lock",
    "py.get128.shmiface": "Python get 128 B, shmiface",
    "py.get128.mp_lock": "Python get 128 B, shared_memory + Lock",
    "py.rtt.shmiface": "Python round trip 128 B, shmiface",
    "py.rtt.mp_pipe": "Python round trip 128 B, multiprocessing.Pipe",
    "py.rtt.posix_ipc": "Python round trip 128 B, shared memory + posix_ipc semaphores",
    "py.empty_call.cffi": "Python empty call through cffi",
}


def _metric(metric_id: str, label: str, unit: str, median: float, runs: List[float]) -> Dict[str, Any]:
    runs = [float(r) for r in runs]
    return {"id": metric_id, "label": label, "unit": unit, "median": float(median), "runs": runs}


def _op_metric(metric_id: str, runs: List[float]) -> Dict[str, Any]:
    return _metric(metric_id, LABELS[metric_id], "ns/op", statistics.median(runs), runs)


def _rtt_metrics(variant: str, rounds: List[List[int]]) -> List[Dict[str, Any]]:
    """Median and p99 over every sample; "runs" holds the same statistic per round."""
    base = f"py.rtt.{variant}"
    every = [s for samples in rounds for s in samples]
    return [
        _metric(f"{base}.median", LABELS[base] + ", median", "ns", statistics.median(every),
                [statistics.median(s) for s in rounds]),
        _metric(f"{base}.p99", LABELS[base] + ", p99", "ns", p99(every), [p99(s) for s in rounds]),
    ]


def run(sizes: Sizes, quick: bool) -> Dict[str, Any]:
    """Every measurement, as the output document."""
    set_get = bench_set_get(sizes)
    empty = bench_empty_call(sizes)
    plan = roundtrip.make_plan(sizes.rtt_warmup, sizes.rtt_rounds, sizes.rtt_per_round)
    rtt = roundtrip.measure(plan, sizes.deadline_s)
    metrics = [_op_metric(metric_id, runs) for metric_id, runs in set_get.items()]
    for variant in roundtrip.VARIANTS:
        metrics.extend(_rtt_metrics(variant, rtt[variant]))
    metrics.append(_op_metric("py.empty_call.cffi", empty))
    samples = {f"py.rtt.{v}": [s for r in rtt[v] for s in r][:SAMPLE_CAP] for v in roundtrip.VARIANTS}
    params = dict(asdict(sizes), payload_bytes=PAYLOAD, spin_ns=shmiface.spin_ns(),
                  library=shmiface.library_path, python=sys.version.split()[0])
    return {"source": "bench_python", "quick": quick, "metrics": metrics, "samples": samples,
            "params": params}


def summary(doc: Dict[str, Any], seconds: float) -> str:
    """A few lines for a person: each figure, and shmiface's ratio to its baseline."""
    m = {metric["id"]: metric["median"] for metric in doc["metrics"]}
    lines = [f"bench_python ({'quick' if doc['quick'] else 'full'} run, {seconds:.1f} s)"]
    for op in ("set", "get"):
        ours, theirs = m[f"py.{op}128.shmiface"], m[f"py.{op}128.mp_lock"]
        lines.append(f"  {op} 128 B       shmiface {ours:7.0f} ns/op   shared_memory+Lock {theirs:7.0f} ns/op"
                     f"   ratio {ours / theirs:.2f}")
    for variant in roundtrip.VARIANTS:
        lines.append(f"  round trip {variant:10s} median {m[f'py.rtt.{variant}.median'] / 1000:7.1f} us"
                     f"   p99 {m[f'py.rtt.{variant}.p99'] / 1000:7.1f} us")
    ratio = m["py.rtt.shmiface.median"] / m["py.rtt.posix_ipc.median"]
    lines.append(f"  round-trip median ratio shmiface/posix_ipc {ratio:.2f}")
    lines.append(f"  empty cffi call  {m['py.empty_call.cffi']:7.1f} ns/op")
    return "\n".join(lines)


def _on_deadline(_signum: int, _frame: object) -> None:
    raise BenchError("timed out")


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="where to write the JSON results")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, about two seconds")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    signal.signal(signal.SIGALRM, _on_deadline)
    signal.alarm(sizes.deadline_s)
    try:
        doc = run(sizes, args.quick)
    except (BenchError, shmiface.ShmifaceError, posix_ipc.Error) as exc:
        # A C call interrupted by the deadline may raise its own error instead.
        late = time.monotonic() - started >= sizes.deadline_s
        hint = f" (after the {sizes.deadline_s} s deadline: something hangs)" if late else ""
        print(f"bench_python: FAILED: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(doc, out, indent=1)
        out.write("\n")
    print(summary(doc, time.monotonic() - started), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
