"""Merges the benchmark programs' JSON files into one table, one JSON file
and one chart, and checks the targets of the performance issue.

usage: report.py OUT_DIR RAW.json... [--quick]

Writes OUT_DIR/results.json (the machine, every figure with its rounds, and
every target with its ratio) and OUT_DIR/bench-latency.png (the round-trip
latency distributions). A figure a program could not measure here (a
baseline not installable, an API not there yet) is listed in that program's
"skipped" with the reason, and its rows print the reason instead of a
verdict. --quick (used by `make test`) checks only that
every expected figure is there and that the outputs can be made: figures
from tiny runs say nothing about speed, so every target and context row is
printed with its ratio, but no target is judged ("not judged").
"""

import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys

# (what, numerator id, denominator id or None, comparison, limit). A
# denominator of None compares the numerator itself with the limit.
TARGETS = [
    ("C get 128 B vs pthread mutex + memcpy", "c.get128.shmiface", "c.get128.mutex", "<=", 0.7),
    ("C set 128 B vs pthread mutex + memcpy", "c.set128.shmiface", "c.set128.mutex", "<=", 1.0),
    ("C set 64 MiB vs memcpy bandwidth", "c.set64m.shmiface", "c.copy64m.memcpy", ">=", 0.8),
    ("C get 64 MiB vs memcpy bandwidth", "c.get64m.shmiface", "c.copy64m.memcpy", ">=", 0.8),
    ("Round trip median vs raw futex", "c.rtt.shmiface.median", "c.rtt.futex.median", "<=", 0.1),
    ("Round trip median vs spin floor", "c.rtt.shmiface.median", "c.rtt.spin.median", "<=", 5.0),
    ("Idle waiter CPU, % of a core", "c.idle_wait.cpu_percent", None, "<", 1.0),
    ("Python set 128 B vs shared_memory + Lock", "py.set128.shmiface", "py.set128.mp_lock", "<=", 0.5),
    ("Python get 128 B vs shared_memory + Lock", "py.get128.shmiface", "py.get128.mp_lock", "<=", 0.5),
    ("Python round trip median vs posix_ipc", "py.rtt.shmiface.median", "py.rtt.posix_ipc.median", "<=", 0.3),
    # Round trips are in ns on both sides (perf_counter_ns in Python,
    # CLOCK_MONOTONIC in C): 3 µs is 3000, 20 µs is 20000.
    ("Python round trip median, ns", "py.rtt.shmiface.median", None, "<=", 3000),
    ("Python round trip median vs C round trip median", "py.rtt.shmiface.median", "c.rtt.shmiface.median", "<=", 6.0),
    ("Python round trip p99, ns", "py.rtt.shmiface.p99", None, "<=", 20000),
    # Streams (ABI 1.1): rates are messages/s or GB/s, so higher is better.
    ("C stream 64 B msg/s vs Boost message_queue", "c.stream64.shmiface", "c.stream64.boost_mq", ">=", 5.0),
    ("C stream 64 B msg/s vs POSIX mq", "c.stream64.shmiface", "c.stream64.posix_mq", ">=", 1.0),
    ("C stream 4 KiB msg/s vs Boost message_queue", "c.stream4k.shmiface", "c.stream4k.boost_mq", ">=", 5.0),
    ("C stream 4 KiB msg/s vs POSIX mq", "c.stream4k.shmiface", "c.stream4k.posix_mq", ">=", 1.0),
    ("C stream, 4 consumers: slowest vs 1 consumer", "c.stream64.fanout4.min", "c.stream64.fanout1", ">=", 0.8),
    ("C stream: messages lost, consumers keeping up", "c.stream.lost", None, "==", 0),
    ("C 8 MiB frames: loan+borrow vs set+next", "c.frame8m.loan_borrow", "c.frame8m.set_next", ">=", 5.0),
    ("Python stream: messages lost, consumers keeping up", "py.stream64.lost", None, "==", 0),
]

# Figures printed for context, with no target: the seed's design (a Boost
# interprocess_mutex + char[128] in POSIX shared memory), the round trip
# with two busy-loop processes competing for the 2 cores, what the writer
# lock's robustness costs (a lock that survives its holder's death), and
# the floor of a call (boundary, handle check and a read of nothing, in
# ns), which every call pays before its work. A denominator of None prints
# the figure.
CONTEXT = [
    ("C get 128 B vs Boost interprocess_mutex + char[128]", "c.get128.shmiface", "c.get128.boost_design"),
    ("C set 128 B vs Boost interprocess_mutex + char[128]", "c.set128.shmiface", "c.set128.boost_design"),
    ("C set 128 B vs robust pthread mutex + memcpy", "c.set128.shmiface", "c.set128.robust_mutex"),
    ("C get 128 B vs robust pthread mutex + memcpy", "c.get128.shmiface", "c.get128.robust_mutex"),
    ("Robust vs plain pthread mutex, set 128 B", "c.set128.robust_mutex", "c.set128.mutex"),
    ("C call floor (get 0 B), ns", "c.get0.shmiface", None),
    ("C call floor vs get 128 B", "c.get0.shmiface", "c.get128.shmiface"),
    ("C round trip under two CPU hogs: median vs quiet (same run)", "c.rtt.shmiface_hogs.median",
     "c.rtt.shmiface.median"),
    ("C round trip under two CPU hogs: p99 vs quiet (same run)", "c.rtt.shmiface_hogs.p99", "c.rtt.shmiface.p99"),
    ("C stream latency median vs same-run round trip median", "c.stream.latency.median", "c.stream.rtt.median"),
    ("C stream latency p99 vs same-run round trip p99", "c.stream.latency.p99", "c.stream.rtt.p99"),
    ("C 8 MiB frames: loan+borrow vs memcpy bandwidth", "c.frame8m.loan_borrow", "c.frame8m.memcpy"),
    ("C 8 MiB frames: set+next vs memcpy bandwidth", "c.frame8m.set_next", "c.frame8m.memcpy"),
    ("C stream 64 B, 4 consumers: mean vs 1 consumer", "c.stream64.fanout4.mean", "c.stream64.fanout1"),
    ("Python stream 64 B: values() vs multiprocessing.Queue", "py.stream64.values", "py.stream64.mp_queue"),
    ("Python stream 64 B: values() vs iceoryx2", "py.stream64.values", "py.stream64.iceoryx2"),
    ("Python stream 64 B: cffi next loop vs multiprocessing.Queue", "py.stream64.cffi", "py.stream64.mp_queue"),
    ("Python stream 64 B: cffi next loop vs iceoryx2", "py.stream64.cffi", "py.stream64.iceoryx2"),
]

# The round-trip distributions drawn in the chart, in drawing order.
CHART_SERIES = [
    ("c.rtt.shmiface", "shmiface (notify + adaptive wait)"),
    ("c.rtt.spin", "spin-only (the floor)"),
    ("c.rtt.futex", "raw futex"),
    ("c.rtt.pipe", "pipe"),
    ("c.rtt.shmiface_hogs", "shmiface, two CPU hogs on the cores"),
]


def machine():
    model = "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def load(paths):
    """Every figure by id, the samples, whether any run was quick, and the
    figures a program skipped (id: why), e.g. a baseline not installable here."""
    metrics, samples, quick, skipped = {}, {}, False, {}
    for path in paths:
        with open(path) as f:
            raw = json.load(f)
        quick = quick or raw.get("quick", False)
        for m in raw["metrics"]:
            if m["id"] in metrics:
                sys.exit(f"report: {m['id']} comes from two files")
            metrics[m["id"]] = dict(m, source=raw["source"])
        samples.update(raw.get("samples", {}))
        skipped.update(raw.get("skipped", {}))
    return metrics, samples, quick, skipped


def judge(metrics, skipped, quick=False):
    """Each target's and context row's ratio (the figure itself, for a
    denominator of None) and verdict: None for context, and when quick."""
    results = []
    for what, num, den, op, limit in TARGETS + [c + (None, None) for c in CONTEXT]:
        why = next((skipped[i] for i in (num, den) if i in skipped), None)
        if why:
            results.append({"target": what, "numerator": num, "denominator": den, "ratio": None,
                            "limit": None if op is None else f"{op} {limit}", "pass": None, "skipped": why})
            continue
        value = metrics[num]["median"]
        ratio = value
        if den:
            ratio = value / metrics[den]["median"] if metrics[den]["median"] else math.inf
        ok = None if op is None or quick else {"<=": ratio <= limit, ">=": ratio >= limit, "<": ratio < limit,
                                      "==": ratio == limit}[op]
        results.append({"target": what, "numerator": num, "denominator": den,
                        "ratio": ratio, "limit": None if op is None else f"{op} {limit}", "pass": ok})
    return results


def fmt(value, unit):
    if unit == "ns" and value >= 10_000:
        return f"{value / 1000:.1f} µs"
    return f"{value:,.1f} {unit}" if value < 1000 else f"{value:,.0f} {unit}"


def print_table(metrics, results, info, quick, skipped):
    print(f"shmiface benchmarks — {info['cpu']}, {info['cores']} cores, "
          f"Linux {info['kernel']}, {info['date']}" + (" (quick: sizes too small to mean anything)" if quick else ""))
    print()
    width = max(len(m["label"]) for m in metrics.values())
    print(f"{'figure':<{width}}  {'median':>14}  {'rounds':>6}  spread")
    for m in metrics.values():
        runs = m["runs"]
        spread = f"{min(runs):,.1f} – {max(runs):,.1f}" if runs else ""
        print(f"{m['label']:<{width}}  {fmt(m['median'], m['unit']):>14}  {len(runs):>6}  {spread}")
    for sid, why in skipped.items():
        print(f"{sid:<{width}}  {why}")
    print()
    width = max(len(r["target"]) for r in results)
    print(f"{'target':<{width}}  {'measured':>9}  {'wanted':>8}  verdict")
    for r in results:
        if r.get("skipped"):
            print(f"{r['target']:<{width}}  {'':>9}  {r['limit'] or '':>8}  {r['skipped']}")
            continue
        verdict = ("context" if r["limit"] is None else "not judged" if r["pass"] is None
                   else "PASS" if r["pass"] else "MISS")
        # A figure compared with an absolute limit (in ns, say) can be large.
        measured = (f"{r['ratio']:>9,.0f}" if r["denominator"] is None and abs(r["ratio"]) >= 1000
                    else f"{r['ratio']:>8.3f}{'' if r['denominator'] is None else '×'}")
        print(f"{r['target']:<{width}}  {measured:>9}  {r['limit'] or '':>8}  {verdict}")


def short(value, unit):
    """A figure as the README's table writes it: ns, µs, GB/s, %."""
    if unit == "% of a core":
        return f"{value:.2f} %"
    if unit in ("ns", "ns/op"):
        return f"{value / 1000:.1f} µs" if value >= 10_000 else f"{value:.1f} ns" if value < 1000 else f"{value:,.0f} ns"
    return f"{value:.1f} {unit}"


def figure(m):
    """The median with the spread of the rounds beside it: 7.5 ns (7.3–7.9 ns)."""
    runs = m["runs"]
    text = short(m["median"], m["unit"])
    if len(runs) > 1:
        lo, hi = short(min(runs), m["unit"]), short(max(runs), m["unit"])
        lo_num, lo_unit = lo.rsplit(" ", 1)
        text += f" ({lo_num if lo_unit == hi.rsplit(' ', 1)[1] else lo}–{hi})"
    return text


def baseline_name(m, of):
    """What baseline m is, from its label: the part after the figure's name,
    or all of it when m is another language's figure than `of`."""
    label = m["label"].removesuffix(", median")
    if label.split(" ", 1)[0] != of["label"].split(" ", 1)[0]:
        return label
    return label.split(", ", 1)[1] if ", " in label else label


def print_readme_table(metrics, results, info, quick):
    """The README's performance table, as it is pasted there: each figure is
    the median over rounds with the lowest–highest round beside it."""
    print(f"From one run on {info['date']}, {info['cpu']}, {info['cores']} cores, "
          f"Linux {info['kernel']}" + (" (quick: no meaning)" if quick else "") + ":")
    print()
    print("| | shmiface | baseline | ratio | target |")
    print("|---|---|---|---|---|")
    verdicts = {r["target"]: r for r in results}
    for what, num, den, op, limit in TARGETS:
        n = metrics[num]
        base = ""
        ratio = n["median"]
        if den:
            d = metrics[den]
            base = f"{figure(d)} ({baseline_name(d, n)})"
            ratio = n["median"] / d["median"]
        r = verdicts.get(what)
        mark = "" if r is None or r["pass"] is None else " ✓" if r["pass"] else " ✗"
        ratio_text = f"{ratio:.3g}×" if den else ""
        # An absolute limit in the figure's own unit: "<= 3,000 ns", not "<= 3000".
        limit_text = short(limit, n["unit"]) if not den and n["unit"] in ("ns", "ns/op", "% of a core") else limit
        print(f"| {what} | {figure(n)} | {base} | {ratio_text} | {op} {limit_text}{mark} |")


def chart(samples, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    for sid, label in CHART_SERIES:
        values = sorted(v / 1000 for v in samples[sid])
        n = len(values)
        ax.step(values, [(i + 1) / n for i in range(n)], where="post",
                label=f"{label}: median {statistics.median(values):.2f} µs")
    ax.set_xscale("log")
    ax.set_xlabel("round trip, µs (log scale), 128 bytes each way between two processes")
    ax.set_ylabel("fraction of round trips ≤ x")
    ax.set_title("Notify → wake → reply → wake")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def main(argv):
    quick_flag = "--quick" in argv
    args = [a for a in argv if a != "--quick"]
    if len(args) < 2:
        sys.exit(__doc__)
    out_dir, raw_paths = args[0], args[1:]
    metrics, samples, quick, skipped = load(raw_paths)
    quick = quick or quick_flag
    wanted = {t[1] for t in TARGETS + CONTEXT} | {t[2] for t in TARGETS + CONTEXT if t[2]}
    missing = sorted(wanted - metrics.keys() - skipped.keys()) + sorted({s for s, _ in CHART_SERIES} - samples.keys())
    if missing:
        sys.exit(f"report: no figure for {', '.join(missing)}")
    info = machine()
    results = judge(metrics, skipped, quick)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"machine": info, "quick": quick, "metrics": metrics, "targets": results, "skipped": skipped},
                  f, indent=1)
    chart(samples, os.path.join(out_dir, "bench-latency.png"))
    print_table(metrics, results, info, quick, skipped)
    print()
    print_readme_table(metrics, results, info, quick)
    print(f"\nwritten: {out_dir}/results.json, {out_dir}/bench-latency.png")


if __name__ == "__main__":
    main(sys.argv[1:])
