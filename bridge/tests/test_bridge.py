"""The bridge between two hosts (two mount namespaces, each with its own
/dev/shm) over tcp/127.0.0.1: real processes, real shared memory. Each
stream is checked value by value, so a lost, repeated, reordered or torn
value fails the test (value.py)."""

import json
import os
import signal
import struct
import subprocess
import sys
import time

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


def version_of(host, name):
    return json.loads(host.cli("info", "--json", name))["version"]


def test_both_ways_at_once_without_echo(hosts):
    a, b = hosts
    n = 5_000
    # Both bridges export and import every duo.* name: each must recognise
    # its own imports and never send them back.
    both = ["--export", "duo.*", "--import", "duo.*"]
    pa = producer(a, "duo.a", n, 8192, 10_000)
    pb = producer(b, "duo.b", n, 8192, 10_000)
    _, ba, bb = pair(a, b, both, both)
    ca, cb = consumer(a, "duo.b", n), consumer(b, "duo.a", n)
    first(ca)
    first(cb)
    go(pa)
    go(pb)
    ra, rb = report(ca), report(cb)
    assert_whole(ra, n)
    assert_whole(rb, n)
    # An echo would have written a version more into the producer's segment.
    assert version_of(a, "duo.a") == n and version_of(b, "duo.b") == n
    assert version_of(a, "duo.b") == n and version_of(b, "duo.a") == n
    finish(pa)
    finish(pb)
    sa, sb = ba.stop(), bb.stop()
    for s in (sa, sb):
        assert s["out"] == n and s["in"] == n and s["bad"] == 0, (sa, sb)


class Holder:
    """A segment on a host, owned by hold.py, set from the test."""

    def __init__(self, host, name, capacity=256, history=8):
        self.p = host.spawn([sys.executable, HERE / "hold.py", name, capacity, history],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=PY_ENV)
        assert self.p.stdout.readline().strip() == "ready"

    def set(self, data: bytes) -> int:
        self.p.stdin.write(data.hex() + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline().split()
        assert line[0] == "set", line
        return int(line[1])

    def close(self):
        self.p.stdin.close()
        assert self.p.wait(timeout=10) == 0


def attachment(version, prev, sender=0x5EED, epoch=1, capacity=64, history=4):
    return struct.pack("<4sIQQQQQIIQ", b"shmb", 1, version, prev, sender, epoch,
                       capacity, history, 0, 0)


def zenoh_session(port):
    import zenoh

    conf = zenoh.Config()
    conf.insert_json5("mode", '"peer"')
    conf.insert_json5("connect/endpoints", json.dumps([endpoint(port)]))
    conf.insert_json5("listen/endpoints", "[]")
    conf.insert_json5("scouting/multicast/enabled", "false")
    return zenoh.open(conf)


def test_an_eclipse_zenoh_client_reads_and_writes(hosts):
    a, _ = hosts
    ext = Holder(a, "ext")
    port = free_port()
    ba = Bridge(a, ["--listen", endpoint(port), "--export", "ext", "--import", "ext.in"])
    session = zenoh_session(port)
    try:
        # A late joiner's query: the current value, with its attachment.
        ext.set(b"before")
        replies = wait_for("a reply", lambda: list(session.get("shmiface/ext", timeout=2.0)))
        got = replies[-1].ok
        assert got.payload.to_bytes() == b"before"
        assert struct.unpack_from("<4sIQ", got.attachment.to_bytes())[::2] == (b"shmb", 1)

        sub = session.declare_subscriber("shmiface/ext")
        wait_for("the subscription to reach the bridge",
                 lambda: ext.set(b"probe") and sub.try_recv() is not None, every=0.1)
        exact = bytes(range(256))[:200] + b"\x00\xff\x00"
        version = ext.set(exact)
        while True:
            sample = sub.recv()
            if sample.payload.to_bytes() != b"probe":
                break
        assert sample.payload.to_bytes() == exact
        magic, fmt, v = struct.unpack_from("<4sIQ", sample.attachment.to_bytes())
        assert (magic, fmt, v) == (b"shmb", 1, version)

        # The other way: a put with the documented attachment.
        session.put("shmiface/ext.in", b"from zenoh \x01\x02", attachment=attachment(1, 0))
        assert a.run([PEER, "await", "ext.in", (b"from zenoh \x01\x02").hex(), 20]).stdout == "seen\n"

        # Bad samples: counted and logged, never written.
        session.put("shmiface/ext.in", b"no attachment")
        session.put("shmiface/ext.in", b"wrong attachment", attachment=b"nonsense")
        session.put("shmiface/ext.in", b"x" * 65, attachment=attachment(2, 1))
        session.put("shmiface/ext.in", b"after the bad ones", attachment=attachment(3, 2))
        assert a.run([PEER, "await", "ext.in", b"after the bad ones".hex(), 20]).stdout == "seen\n"
        assert "x" * 65 not in a.cli("tail", "ext.in")
    finally:
        session.close()
    stats = ba.stop()
    assert stats["bad"] == 3 and stats["in"] == 2, stats
    assert "refused a sample" in ba.text()
    ext.close()


def test_kills_and_restarts_mid_stream_lose_and_repeat_nothing(hosts):
    a, b = hosts
    n = 20_000
    p = producer(a, "faults", n, 16384, 5_000)
    _, ba, bb = pair(a, b, ["--export", "faults"], ["--import", "faults"])
    c = consumer(b, "faults", n, timeout=90)
    first(c)
    go(p)
    time.sleep(0.7)
    ba.kill()  # the exporter, SIGKILL
    time.sleep(0.3)
    ba.start()
    time.sleep(0.7)
    bb.kill()  # the importer, owner of B's segment, SIGKILL
    time.sleep(0.3)
    bb.start()
    time.sleep(0.7)
    ba.stop()  # the peer stopped cleanly: a network cut, as B sees it
    time.sleep(0.5)
    ba.start()
    r = report(c)
    assert_whole(r, n)
    assert r["count"] == n
    # Every source version written once: a duplicate would be a version more.
    assert version_of(b, "faults") == n
    assert "took faults over again" in bb.text()
    finish(p)
    ba.stop()
    assert bb.stop()["bad"] == 0


def test_a_sample_over_the_local_capacity_is_refused_whole(hosts):
    a, b = hosts
    ha = Holder(a, "small", capacity=64, history=8)
    hb = Holder(b, "small", capacity=16, history=8)
    _, ba, bb = pair(a, b, ["--export", "small"], ["--import", "small"])
    ha.set(b"tiny 1")
    wait_for("tiny 1 on B", lambda: "tiny 1" in b.cli("tail", "small"))
    ha.set(b"y" * 40)
    ha.set(b"tiny 2")
    wait_for("tiny 2 on B", lambda: "tiny 2" in b.cli("tail", "small"))
    assert b.cli("tail", "small").split("\n")[-3:] == ["tiny 1", "tiny 2", ""]
    sb = bb.stop()
    assert sb["bad"] == 1 and sb["in"] == 2, sb
    assert "over small's capacity of 16" in bb.text()
    ba.stop()
    ha.close()
    hb.close()


def test_many_hosts_through_a_router(hosts, tmp_path):
    a, b = hosts
    c = Host("C", tmp_path)
    try:
        port = free_port()
        router = Bridge(c, ["--mode", "router", "--listen", endpoint(port)])
        n = 2_000
        p = producer(a, "routed", n, 4096, 10_000)
        clients = ["--mode", "client", "--connect", endpoint(port)]
        ba = Bridge(a, [*clients, "--export", "routed"])
        bb = Bridge(b, [*clients, "--import", "routed"])
        bc = Bridge(c, ["--mode", "peer", "--connect", endpoint(port), "--import", "routed"])
        cb, cc = consumer(b, "routed", n), consumer(c, "routed", n)
        first(cb)
        first(cc)
        go(p)
        assert_whole(report(cb), n)
        assert_whole(report(cc), n)
        finish(p)
        for br in (ba, bb, bc, router):
            br.stop()
    finally:
        c.close()


def test_sigint_keeps_what_persistent_says_to_keep(hosts):
    a, b = hosts
    h = Holder(a, "kept")
    _, ba, bb = pair(a, b, ["--export", "kept"], ["--import", "kept", "--persistent"])
    h.set(b"stays")
    wait_for("the value on B", lambda: b.exists("kept") and "stays" in b.cli("get", "kept"))
    bb.proc.send_signal(signal.SIGINT)
    assert bb.proc.wait(timeout=15) == 0
    assert "SIGINT: shutting down" in bb.text()
    info = json.loads(b.cli("info", "--json", "kept"))
    assert info["persistent"] and not info["owner_alive"], info
    ba.stop()
    h.close()


def test_the_network_is_reached_only_on_purpose():
    r = subprocess.run([BRIDGE, "--export", "x", "--listen", "tcp/0.0.0.0:7447"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "not a loopback address" in r.stderr and "--expose" in r.stderr, r.stderr
    r = subprocess.run([BRIDGE], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "nothing to do" in r.stderr, r.stderr


def test_an_importer_started_first_finds_its_peer_later(hosts):
    a, b = hosts
    port = free_port()
    bb = Bridge(b, ["--connect", endpoint(port), "--import", "early"])
    time.sleep(1.5)  # retrying meanwhile
    h = Holder(a, "early")
    ba = Bridge(a, ["--listen", endpoint(port), "--export", "early"])
    h.set(b"found")
    wait_for("the value on B", lambda: b.exists("early") and "found" in b.cli("get", "early"))
    ba.stop()
    bb.stop()
    h.close()


def test_a_zenoh_configuration_file(hosts, tmp_path):
    a, b = hosts
    port = free_port()
    config = tmp_path / "zenoh.json5"
    config.write_text("{\n  // what the flags would say, as a file\n  mode: 'peer',\n"
                      f"  listen: {{ endpoints: ['{endpoint(port)}'] }},\n"
                      "  scouting: { multicast: { enabled: false } },\n}\n")
    h = Holder(a, "configured")
    ba = Bridge(a, ["--config", config, "--export", "configured"])
    bb = Bridge(b, ["--connect", endpoint(port), "--import", "configured"])
    h.set(b"from a file")
    wait_for("the value on B", lambda: b.exists("configured")
             and "from a file" in b.cli("get", "configured"))
    ba.stop()
    bb.stop()
    h.close()
    bad = tmp_path / "bad.json5"
    bad.write_text("{ mode: ")
    r = subprocess.run([BRIDGE, "--config", bad, "--export", "x"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "Zenoh configuration" in r.stderr, r.stderr


def test_the_latest_value_path_counts_what_it_skips(hosts):
    a, b = hosts
    n = 20_000
    # History 1 and a producer as fast as it can: the exporter skips what
    # was overwritten before it could read it, and says how much.
    p = producer(a, "latest", n, 1, 0)
    _, ba, bb = pair(a, b, ["--export", "latest"], ["--import", "latest"])
    c = consumer(b, "latest", n)
    first(c)
    go(p)
    r = report(c)
    finish(p)
    sa, sb = ba.stop(), bb.stop()
    assert (r["dup"], r["reordered"], r["torn"]) == (0, 0, 0), r
    assert r["last"] == value(n).decode(), r
    # Every value the consumer missed is accounted for: skipped by the
    # exporter, or overwritten on B before the consumer read it.
    assert r["lost"] == sa["lost_out"] + r["segment_lost"], (r, sa)
    assert sb["lost_in"] == 0 and sb["in"] == sa["out"], (sa, sb)
