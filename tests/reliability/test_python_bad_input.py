"""Bad input from Python callers, table-driven: the `shmiface` package
(bindings/python) with bad names, capacities, modes, oversized values,
stale versions, negative timeouts, small buffers and destroyed handles.
Each row checks the exception class, its `.status` (the C status number,
the same as the C table in bad_input.c), its built-in base where the
package promises one, and that its message (the library's detail) is not
empty. Run by `make test-reliability-python`."""

import os

import pytest

import shmiface

CAP = 16


def name(tag: str) -> str:
    return f"pyrel-{tag}-{os.getpid()}"


@pytest.fixture()
def seg():
    s = shmiface.init_instance(name("fixture"), capacity=CAP)
    s.set_string("abc")
    yield s
    s.destroy()


@pytest.fixture()
def gone():
    """A handle whose owner has destroyed the segment."""
    owner = shmiface.init_instance(name("gone"), capacity=CAP)
    other = shmiface.get_instance(name("gone"))
    owner.destroy()
    yield other
    other.destroy()


E = shmiface
ROWS = [
    # (label, call(seg, gone), exception, status, built-in base or None)
    ("init: empty name", lambda s, g: E.init_instance(""), E.InvalidNameError, 2, ValueError),
    ("init: slash", lambda s, g: E.init_instance("a/b"), E.InvalidNameError, 2, ValueError),
    ("init: escape", lambda s, g: E.init_instance("../../etc/passwd"), E.InvalidNameError, 2, ValueError),
    ("init: dot-dot", lambda s, g: E.init_instance(".."), E.InvalidNameError, 2, ValueError),
    ("init: leading dot", lambda s, g: E.init_instance(".x"), E.InvalidNameError, 2, ValueError),
    ("init: 201 bytes", lambda s, g: E.init_instance("n" * 201), E.InvalidNameError, 2, ValueError),
    ("init: non-ASCII", lambda s, g: E.init_instance("caf\u00e9"), E.InvalidNameError, 2, ValueError),
    ("init: NUL inside", lambda s, g: E.init_instance("a\0b"), E.InvalidNameError, 2, ValueError),
    ("init: not a str", lambda s, g: E.init_instance(123), E.InvalidNameError, 2, ValueError),
    ("init: capacity 1 GiB + 1", lambda s, g: E.init_instance(name("big"), capacity=(1 << 30) + 1),
     E.InvalidArgumentError, 3, ValueError),
    ("init: capacity 2**63", lambda s, g: E.init_instance(name("big"), capacity=2**63),
     E.InvalidArgumentError, 3, ValueError),
    ("init: capacity -1", lambda s, g: E.init_instance(name("neg"), capacity=-1), E.InvalidArgumentError, 3, ValueError),
    ("init: mode 0o1777", lambda s, g: E.init_instance(name("mode"), mode=0o1777), E.InvalidArgumentError, 3, ValueError),
    ("init: mode 0o4755", lambda s, g: E.init_instance(name("mode"), mode=0o4755), E.InvalidArgumentError, 3, ValueError),
    ("init: live owner", lambda s, g: E.init_instance(s.name, capacity=CAP), E.ExistsError, 5, FileExistsError),
    ("get: missing", lambda s, g: E.get_instance(name("missing")), E.NotFoundError, 4, FileNotFoundError),
    ("get: bad name", lambda s, g: E.get_instance("x/y"), E.InvalidNameError, 2, ValueError),
    ("unlink: missing", lambda s, g: E.unlink(name("missing")), E.NotFoundError, 4, FileNotFoundError),
    ("unlink: bad name", lambda s, g: E.unlink("../x"), E.InvalidNameError, 2, ValueError),
    ("set_bytes: capacity + 1", lambda s, g: s.set_bytes(b"x" * (CAP + 1)), E.TooLargeError, 6, ValueError),
    ("set_string: capacity + 1", lambda s, g: s.set_string("y" * (CAP + 1)), E.TooLargeError, 6, ValueError),
    ("compare_and_set: stale", lambda s, g: s.compare_and_set(s.version - 1, b"z"), E.ConflictError, 12, None),
    ("compare_and_set: future", lambda s, g: s.compare_and_set(s.version + 1, b"z"), E.ConflictError, 12, None),
    ("compare_and_set: too large", lambda s, g: s.compare_and_set(s.version, b"z" * (CAP + 1)), E.TooLargeError, 6, ValueError),
    ("compare_and_set: negative", lambda s, g: s.compare_and_set(-1, b"z"), E.InvalidArgumentError, 3, ValueError),
    ("wait: negative timeout", lambda s, g: s.wait(timeout=-1), E.InvalidArgumentError, 3, ValueError),
    ("wait: NaN timeout", lambda s, g: s.wait(timeout=float("nan")), E.InvalidArgumentError, 3, ValueError),
    ("read_into: 1-byte buffer", lambda s, g: s.read_into(bytearray(1)), E.BufferTooSmallError, 7, ValueError),
    ("set_spin_ns: negative", lambda s, g: E.set_spin_ns(-1), E.InvalidArgumentError, 3, ValueError),
    ("destroyed: get_bytes", lambda s, g: g.get_bytes(), E.DestroyedError, 11, None),
    ("destroyed: set_bytes", lambda s, g: g.set_bytes(b"x"), E.DestroyedError, 11, None),
    ("destroyed: compare_and_set", lambda s, g: g.compare_and_set(0, b"x"), E.DestroyedError, 11, None),
    ("destroyed: notify", lambda s, g: g.notify(), E.DestroyedError, 11, None),
    ("destroyed: wait", lambda s, g: g.wait(timeout=0), E.DestroyedError, 11, None),
]


@pytest.mark.parametrize("label,call,exc,status,builtin", ROWS, ids=[r[0] for r in ROWS])
def test_bad_input_raises_the_exact_error(seg, gone, label, call, exc, status, builtin):
    with pytest.raises(exc) as info:
        call(seg, gone)
    err = info.value
    assert isinstance(err, shmiface.ShmifaceError)
    assert err.status == status, f"{label}: status {err.status}"
    if builtin is not None:
        assert isinstance(err, builtin)
    assert str(err).strip(), f"{label}: empty message"
    # A refused set leaves the value as it was.
    assert seg.get_string() == "abc"


def test_no_bad_input_leaves_a_segment_behind():
    for tag in ("big", "neg", "mode"):
        assert not os.path.exists(f"/dev/shm/{name(tag)}")


def test_a_destroyed_handle_is_refused_not_crashed():
    s = shmiface.init_instance(name("twice"), capacity=CAP)
    s.destroy()
    s.destroy()  # idempotent
    with pytest.raises(shmiface.DestroyedError) as info:
        s.get_bytes()
    assert info.value.status == 11 and str(info.value)
