"""Inside a host: creates NAME (capacity CAPACITY, history HISTORY) and owns
it; prints "ready"; sets each hex line of standard input as the value
(notifying) and prints "set VERSION"; destroys it when the input ends."""

import sys

import shmiface


def main():
    name, capacity, history = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seg = shmiface.init_instance(name, capacity=capacity, history=history)
    print("ready", flush=True)
    for line in sys.stdin:
        version = seg.set_bytes(bytes.fromhex(line.strip()), notify=True)
        print(f"set {version}", flush=True)
    seg.destroy()


if __name__ == "__main__":
    main()
