"""Reads NAME through `next` until value COUNT, inside a host; prints
"first" once a value arrived, then one JSON line: what came, and every
value lost, repeated, out of order or torn (value.py's format)."""

import json
import sys
import time

import shmiface
from value import check  # beside this file, so on sys.path


def main():
    name, count, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    deadline = time.monotonic() + timeout
    seg = None
    while seg is None:
        try:
            seg = shmiface.get_instance(name)
        except shmiface.NotFoundError:
            if time.monotonic() > deadline:
                print(json.dumps({"error": "never appeared"}), flush=True)
                return
            time.sleep(0.01)
    report = {"count": 0, "lost": 0, "dup": 0, "reordered": 0, "torn": 0,
              "segment_lost": 0, "last": None}
    after, prev = 0, 0
    while prev < count and time.monotonic() < deadline:
        try:
            m = seg.next(after=after, timeout=0.2)
        except shmiface.DestroyedError:
            break
        if m is None:
            continue
        after = m.version
        report["segment_lost"] += m.lost
        if report["count"] == 0:
            print("first", flush=True)
        report["count"] += 1
        index = check(m.data)
        if index is None:
            report["torn"] += 1
            continue
        if index == prev:
            report["dup"] += 1
        elif index < prev:
            report["reordered"] += 1
        else:
            report["lost"] += index - prev - 1
            prev = index
        report["last"] = m.data.decode()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
