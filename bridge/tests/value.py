"""The values peer.c writes: value i is b"%08d:" and then i % 40 letters
that depend on i. check() returns i, or None for bytes that are not a
whole value (torn, or foreign)."""


def value(i: int) -> bytes:
    return b"%08d:" % i + bytes(ord("a") + (i * 7 + k) % 26 for k in range(i % 40))


def check(data: bytes):
    try:
        i = int(data[:8])
    except ValueError:
        return None
    return i if data == value(i) else None
