"""The bridge between two hosts (two mount namespaces, each with its own
/dev/shm) over tcp/127.0.0.1: real processes, real shared memory. Each
stream is checked value by value, so a lost, repeated, reordered or torn
value fails the test (value.py)."""

import json
import os
import subprocess
import sys

import pytest

from hosts import BRIDGE, HERE, PEER, Bridge, Host, free_port, wait_for
from value import value

PY_ENV = dict(os.environ, PYTHONPATH=str(HERE.parents[1] / "bindings/python") + os.pathsep + str(HERE))


@pytest.fixture
def hosts(tmp_path):
    a, b = Host("A", tmp_path), Host("B", tmp_path)
    yield a, b
    for h in (a, b):
        h.close()


def endpoint(port):
    return f"tcp/127.0.0.1:{port}"


def producer(host, name, count, history, rate):
    p = host.spawn([PEER, "produce", name, count, history, rate],
                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def go(p):
    p.stdin.write("go\n")
    p.stdin.flush()


def finish(p):
    assert p.stdout.readline().strip() == "done"
    p.stdin.close()
    assert p.wait(timeout=10) == 0


def consumer(host, name, count, timeout=60):
    p = host.spawn([sys.executable, HERE / "consumer.py", name, count, timeout],
                   stdout=subprocess.PIPE, text=True, env=PY_ENV)
    return p


def first(c):
    line = c.stdout.readline().strip()
    assert line == "first", line


def report(c):
    out = c.stdout.read()
    assert c.wait(timeout=90) == 0
    return json.loads(out.strip().splitlines()[-1])


def assert_whole(r, count):
    assert r.get("error") is None, r
    assert (r["lost"], r["dup"], r["reordered"], r["torn"]) == (0, 0, 0, 0), r
    assert r["segment_lost"] == 0, r
    assert r["last"] == value(count).decode(), r


def pair(a, b, a_args, b_args):
    port = free_port()
    ba = Bridge(a, ["--listen", endpoint(port), *a_args])
    bb = Bridge(b, ["--connect", endpoint(port), *b_args])
    return port, ba, bb


def test_ten_thousand_values_cross_in_order(hosts):
    a, b = hosts
    n = 10_000
    p = producer(a, "stream", n, 8192, 20_000)
    _, ba, bb = pair(a, b, ["--export", "stream"], ["--import", "stream"])
    c = consumer(b, "stream", n)
    first(c)
    go(p)
    r = report(c)
    assert_whole(r, n)
    assert r["count"] == n
    finish(p)
    sa, sb = ba.stop(), bb.stop()
    assert sa["lost_out"] == 0 and sb["lost_in"] == 0 and sb["bad"] == 0, (sa, sb)
    # The importer created the segment, so it destroyed it on SIGTERM.
    assert not b.exists("stream")
