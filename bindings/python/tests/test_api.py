"""Every public call of the package, and every exception a caller can provoke."""

from __future__ import annotations

import os
import stat

import pytest

import shmiface


def test_round_trip_and_defaults(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        assert seg.name == name
        assert seg.get_string() == ""
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
    with pytest.raises(shmiface.NotFoundError):
        shmiface.get_instance(name)


def test_options(name: str) -> None:
    old = os.umask(0o077)
    try:
        seg = shmiface.init_instance(name, capacity=1 << 20, mode=0o644, persistent=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(f"/dev/shm/{name}").st_mode) == 0o644
    assert seg.info().capacity == 1 << 20
    seg.set_string("kept")
    seg.destroy()
    # Persistent: the owner's destroy leaves it, and a new owner keeps the value.
    again = shmiface.init_instance(name, capacity=1 << 20)
    assert again.get_string() == "kept"
    again.destroy()


def test_attach_shares_the_value(name: str) -> None:
    owner = shmiface.init_instance(name)
    other = shmiface.get_instance(name)
    assert not other.info().is_owner
    other.set_string_notify("from the attacher")
    assert owner.get_string() == "from the attacher"
    other.destroy()
    owner.destroy()


def test_set_bytes_takes_any_buffer_and_returns_versions(name: str) -> None:
    with shmiface.init_instance(name, capacity=64) as seg:
        assert seg.set_bytes(b"a\0b") == 1
        assert seg.set_bytes(bytearray(b"xyz")) == 2
        assert seg.set_bytes(memoryview(b"0123456789")[2:5]) == 3
        assert seg.get_bytes() == b"234"
        assert seg.set_bytes(b"", notify=True) == 4
        assert seg.get_bytes() == b""
        assert seg.info().notify_count == 1


def test_read_into(name: str) -> None:
    with shmiface.init_instance(name, capacity=64) as seg:
        seg.set_bytes(b"hello")
        buf = bytearray(10)
        assert seg.read_into(buf) == 5
        assert buf[:5] == b"hello"
        with pytest.raises(shmiface.BufferTooSmallError):
            seg.read_into(bytearray(2))
        with pytest.raises(BufferError):
            seg.read_into(b"read-only bytes")


def test_compare_and_set(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        v = seg.compare_and_set(0, "a")
        assert v == 1
        with pytest.raises(shmiface.ConflictError) as err:
            seg.compare_and_set(0, "b")
        assert err.value.status == 12 and "version" in str(err.value)
        assert seg.get_string() == "a"
        assert seg.compare_and_set(v, b"ab", notify=True) == 2
        assert seg.wait(timeout=0)


def test_notify_and_wait(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        assert seg.wait(timeout=0) is False
        assert seg.wait(timeout=0.02) is False
        seg.notify()
        assert seg.wait(timeout=0) is True
        assert seg.wait(timeout=0) is False
        seg.set_string_notify("x")
        assert seg.wait() is True


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
    first.destroy()


def test_destroy_is_idempotent_and_inert(name: str) -> None:
    owner = shmiface.init_instance(name)
    other = shmiface.get_instance(name)
    owner.destroy()
    owner.destroy()
    with pytest.raises(shmiface.DestroyedError):
        owner.get_string()
    with pytest.raises(shmiface.DestroyedError) as err:
        other.get_string()
    assert err.value.status == 11
    assert other.info().destroyed
    other.destroy()


def test_errors_carry_status_detail_and_builtin_bases(name: str) -> None:
    with pytest.raises(shmiface.InvalidNameError) as e1:
        shmiface.init_instance("no/slash")
    assert isinstance(e1.value, ValueError) and e1.value.status == 2 and "no/slash" in str(e1.value)
    with pytest.raises(shmiface.InvalidNameError):
        shmiface.get_instance(".hidden")
    with pytest.raises(shmiface.InvalidNameError):
        shmiface.get_instance("nul\0inside")
    with pytest.raises(shmiface.NotFoundError) as e2:
        shmiface.get_instance(name)
    assert isinstance(e2.value, FileNotFoundError) and e2.value.status == 4
    with pytest.raises(shmiface.NotFoundError):
        shmiface.unlink(name)
    seg = shmiface.init_instance(name, capacity=4)
    with pytest.raises(shmiface.ExistsError) as e3:
        shmiface.init_instance(name)
    assert isinstance(e3.value, FileExistsError) and e3.value.status == 5
    with pytest.raises(shmiface.TooLargeError) as e4:
        seg.set_string("too long")
    assert isinstance(e4.value, ValueError) and e4.value.status == 6
    with pytest.raises(shmiface.InvalidArgumentError) as e5:
        shmiface.init_instance(name + "x", capacity=(1 << 30) + 1)
    assert isinstance(e5.value, ValueError) and e5.value.status == 3
    for bad in (0, -1, 2**70, 1.5):
        with pytest.raises(shmiface.InvalidArgumentError):
            shmiface.init_instance(name + "y", capacity=bad)  # type: ignore[arg-type]
    with pytest.raises(shmiface.InvalidArgumentError):
        shmiface.init_instance(name + "z", mode=0o4777)
    with pytest.raises(shmiface.InvalidArgumentError):
        seg.wait(timeout=-1)
    with pytest.raises(shmiface.InvalidArgumentError):
        shmiface.set_spin_ns(-5)
    seg.destroy()
    for cls in (shmiface.IncompatibleError, shmiface.NotReadyError, shmiface.NoSpaceError,
                shmiface.PermissionDeniedError, shmiface.WaitTimeoutError, shmiface.ConflictError):
        assert issubclass(cls, shmiface.ShmifaceError)
    assert issubclass(shmiface.NoSpaceError, OSError)
    assert issubclass(shmiface.PermissionDeniedError, PermissionError)
    assert issubclass(shmiface.WaitTimeoutError, TimeoutError)


def _write_object(name: str, data: bytes) -> None:
    fd = os.open(f"/dev/shm/{name}", os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def test_incompatible_and_not_ready(name: str) -> None:
    _write_object(name, b"\x5a" * 4096)
    with pytest.raises(shmiface.IncompatibleError) as err:
        shmiface.get_instance(name)
    assert err.value.status == 9 and "magic" in str(err.value)
    os.unlink(f"/dev/shm/{name}")
    _write_object(name, b"\0" * 4096)
    with pytest.raises(shmiface.NotReadyError) as err2:
        shmiface.get_instance(name)
    assert err2.value.status == 13


def test_non_utf8_value(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        seg.set_bytes(b"\xff\xfe")
        with pytest.raises(UnicodeDecodeError):
            seg.get_string()
        assert seg.get_bytes() == b"\xff\xfe"


def test_permission_for_another_user(name: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run a child process as nobody")
    seg = shmiface.init_instance(name)
    code = (
        "import os, shmiface\n"
        "os.setuid(65534)\n"
        "try:\n"
        f"    shmiface.get_instance({name!r})\n"
        "except shmiface.PermissionDeniedError as e:\n"
        "    assert isinstance(e, PermissionError) and e.status == 10\n"
        "    raise SystemExit(0)\n"
        "raise SystemExit(1)\n"
    )
    import subprocess
    import sys

    assert subprocess.run([sys.executable, "-c", code], env=os.environ.copy()).returncode == 0
    seg.destroy()


def test_spin_budget_and_versions() -> None:
    before = shmiface.spin_ns()
    shmiface.set_spin_ns(1234)
    assert shmiface.spin_ns() == 1234
    shmiface.set_spin_ns(before)
    assert shmiface.ABI_VERSION == 1
    assert shmiface.library_version().count(".") == 2
    assert shmiface.library_path
