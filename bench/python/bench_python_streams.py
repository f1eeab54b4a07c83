"""Streams from Python: a consumer taking 64-byte messages one by one from a
producer process, against multiprocessing.Queue and iceoryx2.

    python bench/python/bench_python_streams.py OUT.json [--quick]

Every variant has a Python producer in a spawned process and a Python
consumer here, which checks each message (64 bytes, its sequence number in
the first 8) and is timed from message ``count // 10`` to the last:

  * ``values``: the package's ``Segment.values()`` iterator over a segment
    with history 1024 — measured only when the package imports and has it
    (otherwise printed as skipped: this benchmark was written while the
    package's streams were being written);
  * ``cffi``: the same loop by hand, ``shmiface_next`` through cffi in ABI
    mode (this file's own declarations), copying each value into ``bytes``:
    what ``values()`` does, without its per-item object;
  * ``mp_queue``: ``multiprocessing.Queue(maxsize=512)``, ``put``/``get``;
  * ``iceoryx2``: iceoryx2's publish-subscribe (a 64-byte ctypes struct,
    no safe overflow, the subscriber polling ``receive()``, as iceoryx2's
    Python examples do) — skipped when the package cannot be imported here.

The shmiface producers never run more than 512 messages ahead of the
consumer, which publishes the version it has read through an ack segment
every 64 messages, as in bench/c/bench_streams.c; multiprocessing.Queue
blocks its producer at 512. iceoryx2 gets the shmiface treatment: its
consumer publishes its sequence number every 64 messages on an ack
service, and the producer stays within 512 of it (the publisher's
``RetryUntilDelivered`` did not block here with iceoryx2 0.10.0: messages
past a full subscriber buffer were dropped). Every consumer counts what it
lost: shmiface's from version gaps (reported, and the report checks it is
0); a queue or iceoryx2 losing one fails the run.

Writes OUT.json ({"source", "quick", "metrics", "skipped", "params"}) and a
summary on stderr. Needs SHMIFACE_LIB naming the library.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import inspect
import json
import multiprocessing
import os
import signal
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from cffi import FFI

SIZE = 64
HISTORY = 1024
WINDOW = 512
ACK_EVERY = 64
TIMEOUT_MS = 20000
_CTX = multiprocessing.get_context("spawn")
_PAD = bytes(SIZE - 8)

# ABI 1.1, the calls these loops make (char * where the ABI says uint8_t *,
# so that bytes pass without a conversion, as the package does).
_CDEF = """
typedef struct shmiface_segment shmiface_segment;
typedef int32_t shmiface_status;
typedef struct {
    uint64_t capacity; uint32_t mode; uint32_t flags; uint32_t history; uint32_t reserved;
} shmiface_create_options;
shmiface_status shmiface_create(const char *name, const shmiface_create_options *options,
                                size_t options_size, shmiface_segment **out);
shmiface_status shmiface_get_instance(const char *name, shmiface_segment **out);
shmiface_status shmiface_set_bytes(shmiface_segment *seg, const char *data, size_t len,
                                   uint32_t flags, uint64_t *version_out);
shmiface_status shmiface_next(const shmiface_segment *seg, uint64_t *version, char *buf,
                              size_t buf_len, size_t *len_out, int64_t timeout_ms);
shmiface_status shmiface_destroy(shmiface_segment *seg);
const char *shmiface_status_str(shmiface_status status);
size_t shmiface_last_error(char *buf, size_t buf_len);
"""
ffi = FFI()
ffi.cdef(_CDEF)
lib = ffi.dlopen(os.environ.get("SHMIFACE_LIB") or "libshmiface.so.1")


class BenchError(RuntimeError):
    """Something measured went wrong."""


def _ok(status: int, call: str) -> None:
    if status != 0:
        detail = ffi.new("char[512]")
        lib.shmiface_last_error(detail, 512)
        raise BenchError(f"{call}: {ffi.string(lib.shmiface_status_str(status)).decode()} "
                         f"({ffi.string(detail).decode()})")


def _create(name: str, capacity: int, history: int) -> Any:
    opts = ffi.new("shmiface_create_options *", {"capacity": capacity, "history": history})
    out = ffi.new("shmiface_segment **")
    _ok(lib.shmiface_create(name.encode(), opts, ffi.sizeof("shmiface_create_options"), out), "shmiface_create")
    return out[0]


def _attach(name: str) -> Any:
    out = ffi.new("shmiface_segment **")
    _ok(lib.shmiface_get_instance(name.encode(), out), "shmiface_get_instance")
    return out[0]


# ---- the package's values(), if it has one --------------------------------------

def _package() -> Tuple[Optional[Any], str]:
    """The shmiface package, or None and why it cannot be measured."""
    try:
        import shmiface  # noqa: PLC0415 (optional: measured only when it works)
    except Exception as exc:  # an import error, or a library the package cannot load
        return None, f"skipped: the package does not import ({type(exc).__name__}: {str(exc)[:80]})"
    if not hasattr(getattr(shmiface, "Segment", None), "values"):
        return None, "skipped: package has no values()"
    return shmiface, ""


def _values_iter(seg: Any) -> Any:
    """seg.values() from the start (version 0) if it takes where to start."""
    try:
        params = inspect.signature(seg.values).parameters
    except (TypeError, ValueError):
        params = {}
    for name in ("after", "version", "since", "start"):
        if name in params:
            return seg.values(**{name: 0})
    return seg.values()


def _item_bytes(item: Any) -> Any:
    if isinstance(item, (bytes, bytearray, memoryview)):
        return item
    for attr in ("data", "value", "bytes", "payload"):
        if hasattr(item, attr):
            return getattr(item, attr)
    if isinstance(item, tuple):
        return next(x for x in item if isinstance(x, (bytes, bytearray, memoryview)))
    raise BenchError(f"values() yields {type(item).__name__}, which holds no bytes this benchmark knows")


# ---- producers (spawned processes) ----------------------------------------------

def _produce_shmiface(name: str, ack_name: str, count: int) -> None:
    seg, ack = _attach(name), _attach(ack_name)
    set_bytes, next_ = lib.shmiface_set_bytes, lib.shmiface_next
    ack_version = ffi.new("uint64_t *", 0)
    ack_buf = ffi.new("char[8]")
    acked = 0
    null = ffi.NULL
    pad = _PAD
    for n in range(1, count + 1):
        while n > acked + WINDOW:
            _ok(next_(ack, ack_version, ack_buf, 8, null, TIMEOUT_MS), "shmiface_next (ack)")
            acked = int.from_bytes(ffi.buffer(ack_buf, 8)[:], "little")
        status = set_bytes(seg, n.to_bytes(8, "little") + pad, SIZE, 0, null)
        if status:
            _ok(status, "shmiface_set_bytes")
    lib.shmiface_destroy(ack)
    lib.shmiface_destroy(seg)


def _produce_queue(queue: Any, count: int) -> None:
    put, pad = queue.put, _PAD
    for n in range(1, count + 1):
        put(n.to_bytes(8, "little") + pad)
    queue.close()
    queue.join_thread()


def _iox_message_type() -> Any:
    class Message(ctypes.Structure):
        _fields_ = [("seq", ctypes.c_uint64), ("pad", ctypes.c_uint8 * (SIZE - 8))]

    return Message


def _iox_ack_type() -> Any:
    class Ack(ctypes.Structure):
        _fields_ = [("seq", ctypes.c_uint64)]

    return Ack


def _iox_services(iox2: Any, node: Any, name: str) -> Tuple[Any, Any]:
    """The data service (no overflow, room for twice the window) and the ack service."""
    data = (node.service_builder(iox2.ServiceName.new(name)).publish_subscribe(_iox_message_type())
            .subscriber_max_buffer_size(2 * WINDOW).history_size(0).enable_safe_overflow(False)
            .open_or_create())
    ack = (node.service_builder(iox2.ServiceName.new(name + "/ack")).publish_subscribe(_iox_ack_type())
           .subscriber_max_buffer_size(16).history_size(0).open_or_create())
    return data, ack


def _produce_iceoryx2(name: str, count: int) -> None:
    import iceoryx2 as iox2  # noqa: PLC0415

    iox2.set_log_level(iox2.LogLevel.Error)
    message = _iox_message_type()
    node = iox2.NodeBuilder.new().create(iox2.ServiceType.Ipc)
    data, ack = _iox_services(iox2, node, name)
    publisher = (data.publisher_builder()
                 .backpressure_strategy(iox2.BackpressureStrategy.RetryUntilDelivered).create())
    acks = ack.subscriber_builder().buffer_size(16).create()
    send, ack_receive = publisher.send_copy, acks.receive
    acked = 0
    for n in range(1, count + 1):
        while n > acked + WINDOW:
            sample = ack_receive()
            if sample is not None:
                acked = sample.payload().contents.seq
        send(message(seq=n))


# ---- consumers (here) ----------------------------------------------------------

class Clock:
    """The consumer's clock: from message ``warm`` to the last one."""

    def __init__(self, count: int) -> None:
        self.count, self.warm = count, count // 10
        self.t_warm = self.t_end = 0.0

    def rate(self) -> float:
        return (self.count - self.warm) / (self.t_end - self.t_warm)


def _start(target: Callable[..., None], *args: Any) -> Any:
    proc = _CTX.Process(target=target, args=args, daemon=True)
    proc.start()
    return proc


def _join(proc: Any, what: str) -> None:
    proc.join(30)
    if proc.exitcode != 0:
        proc.kill()
        raise BenchError(f"{what}: the producer process failed (exit code {proc.exitcode})")


def _check(data: Any, seq: int, what: str) -> None:
    if len(data) != SIZE or int.from_bytes(data[:8], "little") != seq:
        raise BenchError(f"{what}: message {seq} came as {bytes(data[:8])!r} ({len(data)} bytes)")


def run_shmiface(count: int, tag: str, package: Optional[Any]) -> Tuple[float, int]:
    """(messages/s, lost) with the package's values() or, package None, cffi."""
    name, ack_name = f"{tag}-stream", f"{tag}-ack"
    seg, ack = _create(name, SIZE, HISTORY), _create(ack_name, 8, 1)
    clock = Clock(count)
    lost = 0
    try:
        proc = _start(_produce_shmiface, name, ack_name, count)
        set_bytes, null, warm = lib.shmiface_set_bytes, ffi.NULL, clock.warm
        gc.disable()
        try:
            if package is None:
                next_ = lib.shmiface_next
                version = ffi.new("uint64_t *", 0)
                buf = ffi.new(f"char[{SIZE}]")
                length = ffi.new("size_t *")
                buffer = ffi.buffer
                last = 0
                while last < count:
                    status = next_(seg, version, buf, SIZE, length, TIMEOUT_MS)
                    if status:
                        _ok(status, "shmiface_next")
                    data = buffer(buf, length[0])[:]
                    v = version[0]
                    _check(data, v, "cffi next")
                    lost += v - last - 1
                    last = v
                    if v == warm:
                        clock.t_warm = time.perf_counter()
                    if v % ACK_EVERY == 0:
                        set_bytes(ack, v.to_bytes(8, "little"), 8, 0, null)
            else:
                reader = package.get_instance(name)
                try:
                    last = 0
                    for item in _values_iter(reader):
                        data = _item_bytes(item)
                        v = int.from_bytes(data[:8], "little")
                        _check(data, v, "values()")
                        if last:  # a values() that starts from now skips the first ones: not lost
                            lost += v - last - 1
                        last = v
                        if v == warm:
                            clock.t_warm = time.perf_counter()
                        if v % ACK_EVERY == 0:
                            set_bytes(ack, v.to_bytes(8, "little"), 8, 0, null)
                        if v >= count:
                            break
                finally:
                    close = getattr(reader, "close", None) or getattr(reader, "destroy", None)
                    if close:
                        close()
            clock.t_end = time.perf_counter()
        finally:
            gc.enable()
        _join(proc, "shmiface")
    finally:
        lib.shmiface_destroy(ack)
        lib.shmiface_destroy(seg)
    if not clock.t_warm:
        raise BenchError("shmiface: the consumer never read the message it times from")
    return clock.rate(), lost


def run_mp_queue(count: int) -> float:
    queue = _CTX.Queue(maxsize=WINDOW)
    clock = Clock(count)
    proc = _start(_produce_queue, queue, count)
    get = queue.get
    gc.disable()
    try:
        for seq in range(1, count + 1):
            data = get(timeout=TIMEOUT_MS / 1000)
            _check(data, seq, "multiprocessing.Queue")
            if seq == clock.warm:
                clock.t_warm = time.perf_counter()
        clock.t_end = time.perf_counter()
    finally:
        gc.enable()
    _join(proc, "multiprocessing.Queue")
    return clock.rate()


def run_iceoryx2(iox2: Any, count: int, tag: str) -> float:
    node = iox2.NodeBuilder.new().create(iox2.ServiceType.Ipc)
    name = f"shmiface-bench/{tag}"
    data, ack = _iox_services(iox2, node, name)
    subscriber = data.subscriber_builder().buffer_size(2 * WINDOW).create()
    ack_type = _iox_ack_type()
    ack_send = ack.publisher_builder().create().send_copy
    clock = Clock(count)
    proc = _start(_produce_iceoryx2, name, count)
    receive = subscriber.receive
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    gc.disable()
    try:
        seq = 1
        while seq <= count:
            sample = receive()
            if sample is None:  # the subscriber has no blocking receive: poll
                if not proc.is_alive() and proc.exitcode != 0:
                    break
                if seq == 1 and time.monotonic() > deadline:
                    raise BenchError("iceoryx2: no message came")
                continue
            got = sample.payload().contents.seq
            if got != seq:
                raise BenchError(f"iceoryx2: message {seq} came as {got}")
            if seq == clock.warm:
                clock.t_warm = time.perf_counter()
            if seq % ACK_EVERY == 0:
                ack_send(ack_type(seq=seq))
            seq += 1
        clock.t_end = time.perf_counter()
    finally:
        gc.enable()
    _join(proc, "iceoryx2")
    del subscriber, ack_send, data, ack, node
    return clock.rate()


# ---- the run -------------------------------------------------------------------

LABELS = {
    "py.stream64.values": "Python stream 64 B: package Segment.values()",
    "py.stream64.cffi": "Python stream 64 B: shmiface_next loop through cffi",
    "py.stream64.mp_queue": "Python stream 64 B: multiprocessing.Queue",
    "py.stream64.iceoryx2": "Python stream 64 B: iceoryx2 publish-subscribe",
}


def run(quick: bool) -> Dict[str, Any]:
    rounds = 1 if quick else 3
    counts = {"values": 2000, "cffi": 2000, "mp_queue": 2000, "iceoryx2": 2000} if quick else \
        {"values": 300000, "cffi": 300000, "mp_queue": 60000, "iceoryx2": 60000}
    skipped: Dict[str, str] = {}
    package, why = _package()
    if package is None:
        skipped["py.stream64.values"] = why
    try:
        import iceoryx2 as iox2  # noqa: PLC0415

        iox2.set_log_level(iox2.LogLevel.Error)
    except Exception as exc:
        iox2 = None
        skipped["py.stream64.iceoryx2"] = (f"skipped: iceoryx2 cannot be imported here "
                                           f"({type(exc).__name__}: {str(exc)[:80]})")
    runs: Dict[str, List[float]] = {k: [] for k in LABELS if k not in skipped}
    lost = 0
    tag = f"shmiface-pybench-streams-{os.getpid()}"
    for r in range(rounds):
        if package is not None:
            rate, l = run_shmiface(counts["values"], f"{tag}-v{r}", package)
            runs["py.stream64.values"].append(rate)
            lost += l
        rate, l = run_shmiface(counts["cffi"], f"{tag}-c{r}", None)
        runs["py.stream64.cffi"].append(rate)
        lost += l
        runs["py.stream64.mp_queue"].append(run_mp_queue(counts["mp_queue"]))
        if iox2 is not None:
            runs["py.stream64.iceoryx2"].append(run_iceoryx2(iox2, counts["iceoryx2"], f"{tag}-{r}"))
    metrics = []
    for metric_id, values in runs.items():
        values = [v / 1e6 for v in values]
        metrics.append({"id": metric_id, "label": LABELS[metric_id], "unit": "M msg/s",
                        "median": statistics.median(values), "runs": values})
    metrics.append({"id": "py.stream64.lost", "label": "Python stream: messages lost by consumers that keep up",
                    "unit": "messages", "median": float(lost), "runs": [float(lost)]})
    return {"source": "bench_python_streams", "quick": quick, "metrics": metrics, "skipped": skipped,
            "params": {"size": SIZE, "history": HISTORY, "window": WINDOW, "rounds": rounds, "counts": counts,
                       "python": sys.version.split()[0]}}


def _on_deadline(_signum: int, _frame: object) -> None:
    raise BenchError("timed out")


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    deadline_s = 60 if args.quick else 300
    started = time.monotonic()
    signal.signal(signal.SIGALRM, _on_deadline)
    signal.alarm(deadline_s)
    try:
        doc = run(args.quick)
    except BenchError as exc:
        print(f"bench_python_streams: FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(doc, out, indent=1)
        out.write("\n")
    print(f"bench_python_streams ({'quick' if doc['quick'] else 'full'} run, {time.monotonic() - started:.1f} s)",
          file=sys.stderr)
    for m in doc["metrics"]:
        print(f"  {m['id']:34s} {m['median']:12.3f} {m['unit']}", file=sys.stderr)
    for metric_id, why in doc["skipped"].items():
        print(f"  {metric_id:34s} {why}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
