"""Every public call of the package, as docs/python-api.md describes it."""

from __future__ import annotations

import dataclasses
import os
import stat
import threading

import pytest

import shmiface
from shmiface._lib import ffi


def test_round_trip_and_defaults(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        assert seg.name == name
        assert seg.get_string() == ""
        assert seg.get_bytes() == b""
        assert seg.version == 0
        seg.set_string("héllo")
        assert seg.get_string() == "héllo"
        assert seg.get_bytes() == "héllo".encode()
        assert seg.version == 1
        info = seg.info()
        assert info == shmiface.Info(
            capacity=128, length=6, version=1, notify_count=0, waiters=0, mode=0o600,
            owner_pid=os.getpid(), owner_alive=True, is_owner=True, destroyed=False,
        )
    assert not os.path.exists(f"/dev/shm/{name}")
    with pytest.raises(shmiface.NotFoundError):
        shmiface.get_instance(name)


def test_info_has_every_field_of_the_c_struct(name: str) -> None:
    c_fields = [field for field, _ in ffi.typeof("shmiface_info").fields]
    ex_fields = [field for field, _ in ffi.typeof("shmiface_info_ex").fields if field not in ("info", "reserved")]
    assert [f.name for f in dataclasses.fields(shmiface.Info)] == c_fields + ex_fields
    with shmiface.init_instance(name) as seg:
        info = seg.info()
        with pytest.raises(dataclasses.FrozenInstanceError):
            info.version = 3  # type: ignore[misc]
        assert all(isinstance(getattr(info, f), int) for f in c_fields + ex_fields)


def test_options(name: str) -> None:
    old = os.umask(0o077)
    try:
        seg = shmiface.init_instance(name, capacity=1 << 20, mode=0o644, persistent=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(f"/dev/shm/{name}").st_mode) == 0o644
    assert seg.info().capacity == 1 << 20 and seg.info().mode == 0o644
    seg.set_string("kept")
    seg.destroy()
    # Persistent: the owner's destroy leaves it, and a new owner keeps the value.
    assert os.path.exists(f"/dev/shm/{name}")
    again = shmiface.init_instance(name, capacity=1 << 20)
    assert again.get_string() == "kept" and again.info().is_owner
    again.destroy()
    assert not os.path.exists(f"/dev/shm/{name}")


def test_attach_shares_the_value(name: str) -> None:
    owner = shmiface.init_instance(name)
    other = shmiface.get_instance(name)
    assert other.name == name
    info = other.info()
    assert not info.is_owner and info.owner_pid == os.getpid() and info.owner_alive
    other.set_string_notify("from the attacher")
    assert owner.get_string() == "from the attacher"
    assert owner.wait(timeout=0) is True
    other.destroy()
    assert owner.get_string() == "from the attacher"  # an attacher's destroy leaves the segment
    owner.destroy()


def test_set_bytes_takes_any_buffer_and_returns_versions(name: str) -> None:
    with shmiface.init_instance(name, capacity=64) as seg:
        assert seg.set_bytes(b"a\0b") == 1
        assert seg.get_bytes() == b"a\0b"
        assert seg.set_bytes(bytearray(b"xyz")) == 2
        assert seg.set_bytes(memoryview(b"0123456789")[2:5]) == 3
        assert seg.get_bytes() == b"234"
        assert seg.set_bytes(b"", notify=True) == 4
        assert seg.get_bytes() == b""
        assert seg.info().notify_count == 1
        assert seg.set_bytes(b"no notify") == 5
        assert seg.info().notify_count == 1
        assert seg.version == 5
        with pytest.raises(TypeError):
            seg.set_bytes(12345)  # type: ignore[arg-type]


def test_string_setters_refuse_non_strings(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        with pytest.raises(TypeError):
            seg.set_string(b"bytes")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            seg.set_string_notify(7)  # type: ignore[arg-type]
        assert seg.version == 0


def test_read_into(name: str) -> None:
    with shmiface.init_instance(name, capacity=64) as seg:
        assert seg.read_into(bytearray(0)) == 0
        seg.set_bytes(b"hello")
        buf = bytearray(10)
        assert seg.read_into(buf) == 5
        assert buf == b"hello\0\0\0\0\0"
        view = memoryview(bytearray(8))[3:]
        assert seg.read_into(view) == 5 and view.obj[3:] == b"hello"  # type: ignore[index]
        small = bytearray(b"xy")
        with pytest.raises(shmiface.BufferTooSmallError) as err:
            seg.read_into(small)
        assert err.value.status == 7 and "5 bytes" in str(err.value)
        with pytest.raises((BufferError, TypeError)):
            seg.read_into(b"read-only bytes")


def test_reads_grow_their_buffer_and_share_the_pool_safely(name: str) -> None:
    big = bytes(range(256)) * 1024  # 256 KiB, larger than the first output buffer
    with shmiface.init_instance(name, capacity=len(big)) as seg:
        seg.set_bytes(b"small")
        assert seg.get_bytes() == b"small"
        seg.set_bytes(big)
        assert seg.get_bytes() == big
        seg.set_bytes(b"tiny")
        assert seg.get_bytes() == b"tiny" and seg.get_string() == "tiny"
        # Several threads reading and writing one handle all see whole values.
        values = [bytes([i]) * (1000 * (i + 1)) for i in range(4)]
        bad: list = []

        def reader() -> None:
            for _ in range(300):
                v = seg.get_bytes()
                if v not in values and v != b"tiny":
                    bad.append(v[:16])

        def writer() -> None:
            for i in range(300):
                seg.set_bytes(values[i % 4])

        threads = [threading.Thread(target=reader) for _ in range(3)] + [threading.Thread(target=writer)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not bad


def test_threads_reading_different_segments_never_share_a_buffer(name: str) -> None:
    # Reads take output buffers from one pool for every handle; a shared
    # buffer would hand one thread another segment's value. One value is
    # larger than the pool keeps, so buffers also come and go.
    sizes = [10, 5000, 3 << 20]
    segs = [shmiface.init_instance(f"{name}-{i}", capacity=size) for i, size in enumerate(sizes)]
    try:
        for i, (seg, size) in enumerate(zip(segs, sizes)):
            seg.set_bytes(bytes([65 + i]) * size)
        bad: list = []

        def reader(i: int) -> None:
            expected = bytes([65 + i]) * sizes[i]
            for _ in range(40 if sizes[i] > 1 << 20 else 2000):
                if segs[i].get_bytes() != expected or segs[i].get_string() != expected.decode():
                    bad.append(i)

        threads = [threading.Thread(target=reader, args=(i % 3,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not bad
    finally:
        for seg in segs:
            seg.destroy()


def test_compare_and_set(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        v = seg.compare_and_set(0, "a")
        assert v == 1
        with pytest.raises(shmiface.ConflictError) as err:
            seg.compare_and_set(0, "b")
        assert err.value.status == 12 and "version" in str(err.value)
        assert seg.get_string() == "a" and seg.version == 1
        assert seg.compare_and_set(v, b"ab", notify=True) == 2
        assert seg.wait(timeout=0)
        assert seg.compare_and_set(2, bytearray(b"abc")) == 3
        assert seg.get_string() == "abc"


def test_compare_and_set_appends_from_many_threads(name: str) -> None:
    with shmiface.init_instance(name, capacity=4096) as seg:

        def append(ch: str) -> None:
            for _ in range(50):
                while True:
                    # The version first: if a write lands before the read,
                    # the value is newer than it and the swap is refused.
                    version = seg.version
                    value = seg.get_string()
                    try:
                        seg.compare_and_set(version, value + ch)
                        break
                    except shmiface.ConflictError:
                        continue

        threads = [threading.Thread(target=append, args=(c,)) for c in "abcd"]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        final = seg.get_string()
        assert sorted(final) == sorted("abcd" * 50)
        assert seg.version == 200


def test_notify_and_wait(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        assert seg.wait(timeout=0) is False
        assert seg.wait(timeout=0.02) is False
        seg.notify()
        assert seg.info().notify_count == 1
        assert seg.wait(timeout=0) is True
        assert seg.wait(timeout=0) is False
        seg.set_string_notify("x")
        assert seg.wait() is True
        seg.notify()
        seg.notify()
        assert seg.wait(timeout=0.5) is True  # two notifications, one wake
        assert seg.wait(timeout=0) is False


def test_a_new_handle_waits_for_notifications_after_it_was_made(name: str) -> None:
    with shmiface.init_instance(name) as owner:
        owner.notify()
        other = shmiface.get_instance(name)
        assert other.wait(timeout=0) is False
        owner.notify()
        assert other.wait(timeout=0) is True
        other.destroy()


def test_module_level_calls_use_the_current_instance(name: str) -> None:
    first = shmiface.init_instance(name)
    shmiface.set_string("one")
    assert first.get_string() == "one"
    second = shmiface.get_instance(name)
    shmiface.set_string_notify("two")
    assert shmiface.get_string() == "two"
    assert second.wait(timeout=0) is True
    second.destroy()
    assert shmiface.get_string() == "two"  # back to the first
    shmiface.set_string("three")
    assert first.get_string() == "three"
    first.destroy()


def test_non_utf8_value(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        seg.set_bytes(b"\xff\xfe")
        with pytest.raises(UnicodeDecodeError):
            seg.get_string()
        assert seg.get_bytes() == b"\xff\xfe"


def test_unlink_removes_the_name_and_handles_keep_working(name: str) -> None:
    seg = shmiface.init_instance(name)
    shmiface.unlink(name)
    assert not os.path.exists(f"/dev/shm/{name}")
    seg.set_string("still mapped")
    assert seg.get_string() == "still mapped"
    with pytest.raises(shmiface.NotFoundError):
        shmiface.unlink(name)
    seg.destroy()


def test_spin_budget_and_versions() -> None:
    before = shmiface.spin_ns()
    try:
        shmiface.set_spin_ns(1234)
        assert shmiface.spin_ns() == 1234
        shmiface.set_spin_ns(0)
        assert shmiface.spin_ns() == 0
    finally:
        shmiface.set_spin_ns(before)
    assert shmiface.ABI_VERSION == 1
    assert shmiface.library_version() == shmiface.__version__
    assert shmiface.library_version().count(".") == 2
    assert os.path.exists(shmiface.library_path) or "/" not in shmiface.library_path


def test_repr(name: str) -> None:
    seg = shmiface.init_instance(name, capacity=32)
    assert repr(seg) == f"<shmiface.Segment {name!r} capacity=32>"
    seg.destroy()
    assert repr(seg) == f"<shmiface.Segment {name!r} destroyed>"


def test_every_public_name_is_documented() -> None:
    for public in shmiface.__all__:
        obj = getattr(shmiface, public)
        if callable(obj):
            assert obj.__doc__, public
    for attr, obj in vars(shmiface.Segment).items():
        if not attr.startswith("_"):
            assert getattr(obj, "__doc__", None) or getattr(getattr(obj, "fget", None), "__doc__", None), attr
