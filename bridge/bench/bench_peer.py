"""One end of a bench_bridge.py run, inside a host. Every message starts
with its send time (CLOCK_MONOTONIC, ns, shared by every process of the
machine) and its sequence number, 8 bytes each, little-endian.

  shm-write NAME COUNT SIZE INTERVAL_US HISTORY   (waits for a line first)
  shm-read NAME COUNT TIMEOUT
  z-pub ENDPOINT KEY COUNT SIZE INTERVAL_US WARM  (waits for a line first)
  z-sub ENDPOINT KEY COUNT TIMEOUT

As peer.rs: writers first send WARM (shm-write: HISTORY) messages of
sequence 0, the last of sequence 2**64 - 1, which the reader's "first"
answers.

Writers print "ready" once their first (warm-up, sequence 0) message is
out and, after the line, send messages 1..COUNT; readers print "first" at
the warm-up message, then one JSON line: latencies in ns and the arrival
times of the first and last measured message."""

import json
import struct
import sys
import time

HEAD = struct.Struct("<QQ")
WARM_END = 2**64 - 1


def message(seq, size):
    return HEAD.pack(time.monotonic_ns(), seq) + bytes(size - HEAD.size)


def pace(start, i, interval_us):
    if interval_us:
        wait = start + i * interval_us * 1000 - time.monotonic_ns()
        if wait > 0:
            time.sleep(wait / 1e9)


def write(send, count, size, interval_us, warm):
    n = max(warm, 1)
    for i in range(1, n + 1):
        send(message(WARM_END if i == n else 0, size))
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.monotonic_ns()
    for i in range(1, count + 1):
        pace(start, i, interval_us)
        send(message(i, size))
    print("done", flush=True)
    sys.stdin.readline()


class Reader:
    def __init__(self, count):
        self.count, self.lat, self.seen, self.first_ns, self.last_ns = count, [], 0, 0, 0

    def take(self, data):
        now = time.monotonic_ns()
        sent, seq = HEAD.unpack_from(data)
        if seq == WARM_END:
            print("first", flush=True)
            return False
        if seq == 0:
            return False
        self.first_ns = self.first_ns or now
        self.last_ns = now
        self.lat.append(now - sent)
        self.seen = max(self.seen, seq)
        return seq >= self.count

    def report(self):
        print(json.dumps({"received": len(self.lat), "latencies": self.lat,
                          "first_ns": self.first_ns, "last_ns": self.last_ns}), flush=True)


def zenoh_session(endpoint, listen):
    import zenoh

    conf = zenoh.Config()
    conf.insert_json5("mode", '"peer"')
    conf.insert_json5("scouting/multicast/enabled", "false")
    conf.insert_json5("listen/endpoints", json.dumps([endpoint] if listen else []))
    conf.insert_json5("connect/endpoints", json.dumps([] if listen else [endpoint]))
    return zenoh.open(conf)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "shm-write":
        import shmiface

        name, count, size, interval, history = args[0], *map(int, args[1:])
        seg = shmiface.init_instance(name, capacity=size, history=history)
        write(lambda m: seg.set_bytes(m, notify=True), count, size, interval, history)
        seg.destroy()
    elif mode == "shm-read":
        import shmiface

        name, count, timeout = args[0], int(args[1]), float(args[2])
        deadline = time.monotonic() + timeout
        while True:
            try:
                seg = shmiface.get_instance(name)
                break
            except shmiface.NotFoundError:
                time.sleep(0.005)
        r, after = Reader(count), 0
        while time.monotonic() < deadline:
            m = seg.next(after=after, timeout=0.2)
            if m is None:
                continue
            after = m.version
            if r.take(m.data):
                break
        r.report()
    elif mode == "z-pub":
        import zenoh

        endpoint, key, count, size, interval, warm = args[0], args[1], *map(int, args[2:])
        s = zenoh_session(endpoint, listen=False)
        pub = s.declare_publisher(key, congestion_control=zenoh.CongestionControl.BLOCK)
        time.sleep(0.5)  # the subscription reaches this side
        write(pub.put, count, size, interval, warm)
        s.close()
    elif mode == "z-sub":
        endpoint, key, count, timeout = args[0], args[1], int(args[2]), float(args[3])
        s = zenoh_session(endpoint, listen=True)
        sub = s.declare_subscriber(key)
        print("subscribed", flush=True)
        r = Reader(count)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sample = sub.recv()
            if r.take(sample.payload.to_bytes()):
                break
        r.report()
        s.close()


if __name__ == "__main__":
    main()
