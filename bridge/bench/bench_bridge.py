"""make bench-bridge: what the bridge costs over Zenoh itself.

Two hosts as in the tests (mount namespaces with private /dev/shm, over
tcp/127.0.0.1). For 64 B and 64 KiB messages, in the same run:

- bridge: a writer sets a history segment on A, shmiface-bridge A exports
  it, shmiface-bridge B imports it, a reader takes each value with `next`
  on B;
- zenoh: a Zenoh publisher on one side, a subscriber on the other, the
  same loopback.

The ends are native (peer.rs: the Rust API of shmiface and of zenoh, the
same zenoh release as the bridge's); with --python they are Python
(bench_peer.py: shmiface's binding and eclipse-zenoh), where the
interpreter, not the bridge, sets the rate.

Latency: set (or put) to readable on the other side, messages 2 ms apart,
median and p99. Rate: messages sent flat out, received per second at the
reader (and what it lost). Aims: bridge latency within 1.5x Zenoh's, rate
at least 0.7x; each printed with PASS or MISS. Figures go to
build/bench/bridge.json as well.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "bridge/tests"))
from hosts import Bridge, Host, free_port  # noqa: E402

ENV = dict(os.environ, PYTHONPATH=str(ROOT / "bindings/python"))
QUICK = "--quick" in sys.argv
PYTHON = "--python" in sys.argv
if PYTHON:
    PEER = [sys.executable, str(HERE / "bench_peer.py")]
else:
    PEER = [os.environ.get("SHMIFACE_BENCH_PEER",
                           str(ROOT / "target/bridge/release/shmiface-bridge-bench-peer"))]
LAT_COUNT = 300 if QUICK else 2000
LAT_INTERVAL_US = 2000
RATE_COUNT = {64: 2000 if QUICK else 50_000, 65536: 300 if QUICK else 3000}
# At least the count: a writer is never slowed down by readers, so with a
# shorter history a bridge behind would lose values instead of showing
# its rate.
HISTORY = {64: 65536, 65536: 4096}
ROUNDS = 1 if QUICK else 3


def spawn(host, argv):
    return host.spawn(PEER + [str(a) for a in argv], stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, text=True, env=ENV)


def expect(p, word):
    line = p.stdout.readline().strip()
    assert line == word, f"expected {word!r}, got {line!r}"


def finish(writer, reader):
    expect(writer, "done")
    out = json.loads(reader.stdout.readline())
    writer.stdin.write("\n")
    writer.stdin.flush()
    writer.wait(timeout=30)
    reader.wait(timeout=30)
    return out


def run_bridge(a, b, size, count, interval_us, tag):
    name = f"bench-{tag}-{size}"
    port = free_port()
    ep = f"tcp/127.0.0.1:{port}"
    writer = spawn(a, ["shm-write", name, count, size, interval_us, HISTORY[size]])
    expect(writer, "ready")
    ba = Bridge(a, ["--listen", ep, "--export", name])
    bb = Bridge(b, ["--connect", ep, "--import", name])
    reader = spawn(b, ["shm-read", name, count, 120])
    expect(reader, "first")
    writer.stdin.write("go\n")
    writer.stdin.flush()
    out = finish(writer, reader)
    out["bridge_stats"] = [ba.stop(), bb.stop()]
    return out


def run_zenoh(a, b, size, count, interval_us, tag):
    port = free_port()
    ep = f"tcp/127.0.0.1:{port}"
    key = f"bench/{tag}/{size}"
    reader = spawn(b, ["z-sub", ep, key, count, 120])
    expect(reader, "subscribed")
    writer = spawn(a, ["z-pub", ep, key, count, size, interval_us, HISTORY[size]])
    expect(writer, "ready")
    expect(reader, "first")
    writer.stdin.write("go\n")
    writer.stdin.flush()
    return finish(writer, reader)


def latency(out):
    lat = sorted(out["latencies"])
    return {"median_us": statistics.median(lat) / 1000,
            "p99_us": lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1000,
            "received": len(lat)}


def rate(out, count):
    span = (out["last_ns"] - out["first_ns"]) / 1e9
    return {"per_s": (out["received"] - 1) / span if span > 0 else 0.0,
            "received": out["received"], "lost": count - out["received"]}


def median_of(runs):
    """Each figure's median over the rounds, and the rounds themselves."""
    out = {"rounds": runs}
    for part in ("latency", "rate"):
        out[part] = {k: statistics.median(r[part][k] for r in runs) for k in runs[0][part]}
    return out


def verdict(ok):
    return "PASS" if ok else "MISS"


def main():
    results = {}
    with tempfile.TemporaryDirectory() as logs:
        a, b = Host("A", Path(logs)), Host("B", Path(logs))
        try:
            # Rounds alternate the paths, so that a slow spell of the machine
            # does not fall on one of them only; each figure is the median
            # of the rounds'.
            rounds = {size: {"zenoh": [], "bridge": []} for size in (64, 65536)}
            for i in range(ROUNDS):
                for size in (64, 65536):
                    for path, run in (("zenoh", run_zenoh), ("bridge", run_bridge)):
                        rounds[size][path].append({
                            "latency": latency(run(a, b, size, LAT_COUNT, LAT_INTERVAL_US, f"lat{i}")),
                            "rate": rate(run(a, b, size, RATE_COUNT[size], 0, f"rate{i}"),
                                         RATE_COUNT[size]),
                        })
            for size, paths in rounds.items():
                results[size] = {path: median_of(runs) for path, runs in paths.items()}
        finally:
            a.close()
            b.close()
    label = {64: "64 B", 65536: "64 KiB"}
    print()
    print(f"ends: {'Python' if PYTHON else 'native'}; medians of {ROUNDS} round(s)")
    print("| size | path | latency median | latency p99 | rate | lost |")
    print("|---|---|---|---|---|---|")
    for size, r in results.items():
        for path in ("zenoh", "bridge"):
            lat, rt = r[path]["latency"], r[path]["rate"]
            print(f"| {label[size]} | {path} | {lat['median_us']:.1f} µs | {lat['p99_us']:.1f} µs "
                  f"| {rt['per_s']:,.0f} msg/s | {rt['lost']} |")
    print()
    for size, r in results.items():
        lr = r["bridge"]["latency"]["median_us"] / r["zenoh"]["latency"]["median_us"]
        rr = r["bridge"]["rate"]["per_s"] / max(r["zenoh"]["rate"]["per_s"], 1e-9)
        r["latency_ratio"], r["rate_ratio"] = lr, rr
        print(f"{label[size]}: latency {lr:.2f}x bare Zenoh (aim <= 1.5x) {verdict(lr <= 1.5)}; "
              f"rate {rr:.2f}x (aim >= 0.7x) {verdict(rr >= 0.7)}")
    out = ROOT / "build/bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bridge.json").write_text(json.dumps(
        {str(k): {p: v for p, v in r.items()} for k, r in results.items()}, indent=2))


if __name__ == "__main__":
    main()
