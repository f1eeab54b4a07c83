"""stream_consumer.py — the stream demo's slow consumer: Python's ctypes
calling shmiface_next directly (ABI 1.1), with no package.

    SHMIFACE_LIB=target/release/libshmiface.so python3 stream_consumer.py \
        --count N [--work-us US] [--timeout-s S] NAME

Attaches to NAME (waiting for it to exist), then reads from version 0 on:
each shmiface_next returns the oldest kept value newer than the version
read last, so a version gap is exactly the number of values the producer
overwrote while this reader was busy. Each value must say its own version
("tick <version>"). After each one it spends US microseconds (default 20)
"working", to be the slow reader. Stops at version N and prints what it
read and what it lost: together, N. Exits 1 if nothing comes for S seconds
(default 10) or on any error.
"""

import argparse
import ctypes
import os
import sys
import time

SHMIFACE_OK = 0
SHMIFACE_ERR_NOT_FOUND = 4
SHMIFACE_ERR_TIMEOUT = 8


class Info(ctypes.Structure):
    _fields_ = [("capacity", ctypes.c_uint64), ("length", ctypes.c_uint64), ("version", ctypes.c_uint64),
                ("notify_count", ctypes.c_uint64), ("waiters", ctypes.c_uint32), ("mode", ctypes.c_uint32),
                ("owner_pid", ctypes.c_int32), ("owner_alive", ctypes.c_bool), ("is_owner", ctypes.c_bool),
                ("destroyed", ctypes.c_bool)]


class InfoEx(ctypes.Structure):
    _fields_ = [("info", Info), ("history", ctypes.c_uint32), ("reserved", ctypes.c_uint32),
                ("oldest_version", ctypes.c_uint64)]


def load():
    lib = ctypes.CDLL(os.environ.get("SHMIFACE_LIB") or "libshmiface.so.1")
    seg_p, u64_p, size_p = ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_size_t)
    for name, restype, argtypes in [
        ("get_instance", ctypes.c_int32, [ctypes.c_char_p, ctypes.POINTER(seg_p)]),
        ("next", ctypes.c_int32, [seg_p, u64_p, ctypes.c_void_p, ctypes.c_size_t, size_p, ctypes.c_int64]),
        ("get_info_ex", ctypes.c_int32, [seg_p, ctypes.POINTER(InfoEx), ctypes.c_size_t]),
        ("destroy", ctypes.c_int32, [seg_p]),
        ("status_str", ctypes.c_char_p, [ctypes.c_int32]),
    ]:
        fn = getattr(lib, "shmiface_" + name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


def fail(lib, call, status):
    sys.exit(f"[consumer.py] {call}: {lib.shmiface_status_str(status).decode()}")


def main():
    parser = argparse.ArgumentParser(description="the stream demo's slow consumer")
    parser.add_argument("name")
    parser.add_argument("--count", type=int, required=True, help="the producer's last version")
    parser.add_argument("--work-us", type=float, default=20.0, help="busy time per value read")
    parser.add_argument("--timeout-s", type=float, default=10.0)
    args = parser.parse_args()
    lib = load()

    seg = ctypes.c_void_p()
    deadline = time.monotonic() + args.timeout_s
    while (st := lib.shmiface_get_instance(args.name.encode(), ctypes.byref(seg))) == SHMIFACE_ERR_NOT_FOUND:
        if time.monotonic() > deadline:
            fail(lib, "shmiface_get_instance", st)
        time.sleep(0.01)
    if st != SHMIFACE_OK:
        fail(lib, "shmiface_get_instance", st)
    ex = InfoEx()
    if (st := lib.shmiface_get_info_ex(seg, ctypes.byref(ex), ctypes.sizeof(ex))) != SHMIFACE_OK:
        fail(lib, "shmiface_get_info_ex", st)
    print(f"[consumer.py] attached to \"{args.name}\" (keeps {ex.history}): reading every value from "
          f"version 0 with shmiface_next, {args.work_us:g} µs of work each", flush=True)

    buf = ctypes.create_string_buffer(ex.info.capacity)
    length = ctypes.c_size_t()
    version = ctypes.c_uint64(0)
    got = lost = gaps = 0
    work_s = args.work_us / 1e6
    report_at = None  # progress every 50 ms from the first value on
    timeout_ms = int(args.timeout_s * 1000)
    while version.value < args.count:
        before = version.value
        st = lib.shmiface_next(seg, ctypes.byref(version), buf, len(buf), ctypes.byref(length), timeout_ms)
        if st != SHMIFACE_OK:
            fail(lib, "shmiface_next", st)
        value = buf.raw[: length.value].decode()
        if value != f"tick {version.value}":
            sys.exit(f"[consumer.py] version {version.value} holds {value!r}")
        got += 1
        if version.value - before > 1:  # the values in between were overwritten unread
            lost += version.value - before - 1
            gaps += 1
        busy_until = time.perf_counter() + work_s
        while time.perf_counter() < busy_until:
            pass
        now = time.monotonic()
        if report_at is None:
            report_at = now + 0.05
        elif now >= report_at:
            print(f"[consumer.py] at version {version.value}: read {got}, skipped {lost} in {gaps} gaps",
                  flush=True)
            report_at = now + 0.05
    lib.shmiface_destroy(seg)
    print(f"[consumer.py] done at version {version.value}: read {got}, lost {lost} "
          f"({gaps} gaps); read + lost = {got + lost}", flush=True)


if __name__ == "__main__":
    main()
