"""The Python peer of the `shmiface` command's tests: the same protocol as
owner.c beside it (read that file's comment), through the Python package.

    owner.py owner NAME CAPACITY MODE PERSISTENT
    owner.py attach NAME
"""

import os
import sys

import shmiface


def main(argv):
    if len(argv) == 6 and argv[1] == "owner":
        seg = shmiface.init_instance(
            argv[2], capacity=int(argv[3]), mode=int(argv[4], 8), persistent=argv[5] == "1"
        )
    elif len(argv) == 3 and argv[1] == "attach":
        seg = shmiface.get_instance(argv[2])
    else:
        print("usage: owner.py owner NAME CAPACITY MODE PERSISTENT | owner.py attach NAME", file=sys.stderr)
        return 2
    name = argv[2]
    armed = None
    print(f"ready {os.getpid()}", flush=True)

    def answer(command, arg):
        nonlocal armed
        if command == "set":
            seg.set_string(arg)
            return "ok"
        if command == "setn":
            seg.set_string_notify(arg)
            return "ok"
        if command == "notify":
            seg.notify()
            return "ok"
        if command == "get":
            return "value " + seg.get_string()
        if command == "arm":
            # A fresh handle's cursor starts at the notification count now.
            armed = shmiface.get_instance(name)
            return "armed"
        if command == "wait":
            try:
                woke = armed.wait(timeout=30.0)
            except shmiface.DestroyedError:
                return "destroyed"
            finally:
                armed.destroy()
            return "notified " + seg.get_string() if woke else "timeout"
        if command == "destroy":
            seg.destroy()
            return "ok"
        return "error unknown command " + command

    for line in sys.stdin:
        command, _, arg = line.rstrip("\n").partition(" ")
        try:
            reply = answer(command, arg)
        except shmiface.ShmifaceError as e:
            reply = f"error {type(e).__name__}: {e}"
        print(reply, flush=True)
    seg.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
