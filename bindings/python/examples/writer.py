"""writer.py — the demo's Python writer.

    PYTHONPATH=bindings/python python3 bindings/python/examples/writer.py [NAME] < lines

Attaches to the segment NAME (default ``shmiface-demo``; the owner must be
running) and sets each line read from standard input as the value, with
notify, so the owner's worker wakes and appends "...". Exits 0 at end of
input, 1 on an error (for example when the owner has destroyed the segment).
"""

import sys

import shmiface


def main(argv: list[str]) -> int:
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print(f"usage: {argv[0]} [NAME] < lines", file=sys.stderr)
        return 2
    name = argv[1] if len(argv) == 2 else "shmiface-demo"
    try:
        seg = shmiface.get_instance(name)
    except shmiface.NotFoundError:
        print(f'[writer.py] no segment "{name}": start the owner first', file=sys.stderr)
        return 1
    with seg:
        if sys.stdin.isatty():
            print(f'[writer.py] attached to "{name}": type a line and press Enter (Ctrl-D ends)',
                  file=sys.stderr)
        for line in sys.stdin:
            value = line.rstrip("\r\n")
            try:
                seg.set_string_notify(value)
            except shmiface.ShmifaceError as exc:
                print(f"[writer.py] set_string_notify: {exc}", file=sys.stderr)
                return 1
            print(f'[writer.py] sent "{value}"', flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
