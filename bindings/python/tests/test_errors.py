"""Every exception class of docs/python-api.md: the status mapping, and each status a
caller can provoke, with the library's detail as the message."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys

import pytest

import shmiface
from shmiface import _errors
from shmiface._lib import ffi, lib

from conftest import HERE

# docs/python-api.md's table: status -> (exception class, the built-in it also is).
TABLE = {
    1: (shmiface.InvalidArgumentError, ValueError),
    2: (shmiface.InvalidNameError, ValueError),
    3: (shmiface.InvalidArgumentError, ValueError),
    4: (shmiface.NotFoundError, FileNotFoundError),
    5: (shmiface.ExistsError, FileExistsError),
    6: (shmiface.TooLargeError, ValueError),
    7: (shmiface.BufferTooSmallError, ValueError),
    8: (shmiface.WaitTimeoutError, TimeoutError),
    9: (shmiface.IncompatibleError, shmiface.ShmifaceError),
    10: (shmiface.PermissionDeniedError, PermissionError),
    11: (shmiface.DestroyedError, shmiface.ShmifaceError),
    12: (shmiface.ConflictError, shmiface.ShmifaceError),
    13: (shmiface.NotReadyError, shmiface.ShmifaceError),
    14: (shmiface.NoSpaceError, OSError),
    15: (shmiface.ShmifaceError, Exception),
    16: (shmiface.ShmifaceError, Exception),
    17: (shmiface.OverwrittenError, shmiface.ShmifaceError),
    18: (shmiface.ShmifaceError, Exception),
    19: (shmiface.BusyError, shmiface.ShmifaceError),
}


@pytest.mark.parametrize("status", sorted(TABLE))
def test_every_status_maps_to_its_class(status: int) -> None:
    cls, builtin = TABLE[status]
    err = _errors.error_for(status)
    assert type(err) is cls
    assert isinstance(err, shmiface.ShmifaceError) and isinstance(err, builtin)
    assert err.status == status
    assert str(err)  # the library's detail, or its description of the status
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is cls and copy.status == status and str(copy) == str(err)


def test_an_unknown_status_is_a_plain_shmiface_error() -> None:
    err = _errors.error_for(999)
    assert type(err) is shmiface.ShmifaceError and err.status == 999


def test_the_status_constants_match_the_abi() -> None:
    names = ["OK", "ERR_NULL_ARGUMENT", "ERR_INVALID_NAME", "ERR_INVALID_ARGUMENT", "ERR_NOT_FOUND",
             "ERR_EXISTS", "ERR_TOO_LARGE", "ERR_BUFFER_TOO_SMALL", "ERR_TIMEOUT", "ERR_INCOMPATIBLE",
             "ERR_PERMISSION", "ERR_DESTROYED", "ERR_CONFLICT", "ERR_NOT_READY", "ERR_NO_SPACE",
             "ERR_OS", "ERR_PANIC", "ERR_OVERWRITTEN", "ERR_BAD_HANDLE", "ERR_BUSY"]
    assert [getattr(lib, "SHMIFACE_" + n) for n in names] == list(range(20))
    assert lib.SHMIFACE_ABI_MINOR == 1 and lib.shmiface_abi_version() == lib.SHMIFACE_ABI_VERSION == 1


def test_a_pointer_that_is_not_a_live_handle_is_refused_by_the_library() -> None:
    # The package never passes one (its Handle refuses a destroyed handle
    # itself); a raw call shows the library's answer.
    fake = ffi.cast("shmiface_segment *", 5)
    with pytest.raises(shmiface.ShmifaceError) as err:
        _errors.check(lib.shmiface_notify(fake))
    assert type(err.value) is shmiface.ShmifaceError
    assert err.value.status == lib.SHMIFACE_ERR_BAD_HANDLE and "not a live handle" in str(err.value)


def test_a_destroyed_segment_object_never_passes_its_handle_to_the_library() -> None:
    seg = shmiface.init_instance(f"pyerr-dead-{os.getpid()}")
    seg.destroy()
    calls = [seg.get_bytes, seg.get_string, lambda: seg.set_string("x"), lambda: seg.set_bytes(b"x"),
             lambda: seg.set_string_notify("x"), lambda: seg.compare_and_set(0, b"x"), seg.notify,
             lambda: seg.wait(timeout=0), seg.info, lambda: seg.read_into(bytearray(8))]
    for call in calls:
        with pytest.raises(shmiface.DestroyedError) as err:
            call()
        assert "not a live handle" not in str(err.value)  # refused by the package, not the library
    seg.destroy()  # a second destroy is a no-op, not a BAD_HANDLE


def test_null_argument_from_a_raw_call() -> None:
    # The package never passes NULL; a raw call shows the mapping end to end.
    with pytest.raises(shmiface.InvalidArgumentError) as err:
        _errors.check(lib.shmiface_get_instance(ffi.NULL, ffi.new("shmiface_segment **")))
    assert err.value.status == 1 and "NULL" in str(err.value)


@pytest.mark.parametrize("bad", ["", "no/slash", ".hidden", "a" * 201, "sp ace", "é", "nul\0inside"])
def test_invalid_names(bad: str) -> None:
    for call in (shmiface.init_instance, shmiface.get_instance, shmiface.unlink):
        with pytest.raises(shmiface.InvalidNameError) as err:
            call(bad)
        assert isinstance(err.value, ValueError) and err.value.status == 2


def test_a_non_str_name_is_an_invalid_name() -> None:
    with pytest.raises(shmiface.InvalidNameError):
        shmiface.init_instance(b"bytes")  # type: ignore[arg-type]


def test_the_longest_name_is_fine(name: str) -> None:
    longest = (name + "a" * 200)[:200]
    shmiface.init_instance(longest).destroy()


def test_not_found(name: str) -> None:
    with pytest.raises(shmiface.NotFoundError) as err:
        shmiface.get_instance(name)
    assert isinstance(err.value, FileNotFoundError) and err.value.status == 4 and name in str(err.value)
    with pytest.raises(shmiface.NotFoundError):
        shmiface.unlink(name)


def test_exists(name: str) -> None:
    with shmiface.init_instance(name):
        with pytest.raises(shmiface.ExistsError) as err:
            shmiface.init_instance(name)
        assert isinstance(err.value, FileExistsError) and err.value.status == 5 and name in str(err.value)


def test_too_large_keeps_the_old_value(name: str) -> None:
    with shmiface.init_instance(name, capacity=4) as seg:
        seg.set_string("1234")
        for attempt in (lambda: seg.set_string("12345"), lambda: seg.set_bytes(b"12345", notify=True),
                        lambda: seg.compare_and_set(1, b"12345")):
            with pytest.raises(shmiface.TooLargeError) as err:
                attempt()
            assert isinstance(err.value, ValueError) and err.value.status == 6
            assert "5 bytes" in str(err.value)
        assert seg.get_string() == "1234" and seg.version == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"capacity": 0}, {"capacity": -1}, {"capacity": (1 << 30) + 1}, {"capacity": 2**64}, {"capacity": 2**70},
     {"capacity": 1.5}, {"capacity": "8"}, {"mode": 0}, {"mode": -1}, {"mode": 0o1000}, {"mode": 0o4777},
     {"mode": 2**32}, {"mode": 2**40}],
)
def test_invalid_options(name: str, kwargs: dict) -> None:
    with pytest.raises(shmiface.InvalidArgumentError) as err:
        shmiface.init_instance(name, **kwargs)
    assert isinstance(err.value, ValueError) and err.value.status == 3
    assert not os.path.exists(f"/dev/shm/{name}")


def test_invalid_arguments_to_calls(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        for bad in (-1, 2**64, "1", 1.0):
            with pytest.raises(shmiface.InvalidArgumentError):
                seg.compare_and_set(bad, b"x")  # type: ignore[arg-type]
        for timeout in (-1, -0.001, float("nan"), "soon"):
            with pytest.raises(shmiface.InvalidArgumentError):
                seg.wait(timeout=timeout)  # type: ignore[arg-type]
        for ns in (-5, 2**64, 0.5):
            with pytest.raises(shmiface.InvalidArgumentError):
                shmiface.set_spin_ns(ns)  # type: ignore[arg-type]
        assert seg.version == 0


def test_conflict(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        seg.set_string("v1")
        with pytest.raises(shmiface.ConflictError) as err:
            seg.compare_and_set(0, b"lost")
        assert err.value.status == 12 and "version" in str(err.value)
        assert seg.get_string() == "v1"


def test_buffer_too_small(name: str) -> None:
    with shmiface.init_instance(name) as seg:
        seg.set_string("four")
        buf = bytearray(b"abc")
        with pytest.raises(shmiface.BufferTooSmallError) as err:
            seg.read_into(buf)
        assert isinstance(err.value, ValueError) and err.value.status == 7
        assert buf == b"abc"


def test_destroyed(name: str) -> None:
    owner = shmiface.init_instance(name)
    other = shmiface.get_instance(name)
    owner.destroy()
    owner.destroy()  # idempotent
    for call in (owner.get_string, owner.get_bytes, owner.info, owner.notify, lambda: owner.set_string("x"),
                 lambda: owner.wait(timeout=0), lambda: owner.read_into(bytearray(8)), lambda: owner.version):
        with pytest.raises(shmiface.DestroyedError) as err:
            call()
        assert err.value.status == 11
    # The attacher's handle stays valid but inert.
    assert other.info().destroyed
    for call in (other.get_string, lambda: other.set_string("x"), lambda: other.wait(timeout=0), other.notify):
        with pytest.raises(shmiface.DestroyedError) as err:
            call()
        assert err.value.status == 11 and name in str(err.value)
    other.destroy()


def _write_object(name: str, data: bytes) -> None:
    fd = os.open(f"/dev/shm/{name}", os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def test_incompatible(name: str) -> None:
    _write_object(name, b"\x5a" * 4096)
    with pytest.raises(shmiface.IncompatibleError) as err:
        shmiface.get_instance(name)
    assert err.value.status == 9 and "magic" in str(err.value)
    # init_instance does not take over what is not a shmiface segment either.
    with pytest.raises(shmiface.ShmifaceError):
        shmiface.init_instance(name)
    assert open(f"/dev/shm/{name}", "rb").read() == b"\x5a" * 4096


def test_not_ready(name: str) -> None:
    # An all-zero object looks like a segment whose creator never finished.
    _write_object(name, b"\0" * 4096)
    with pytest.raises(shmiface.NotReadyError) as err:
        shmiface.get_instance(name)
    assert err.value.status == 13


def test_permission_for_another_user(name: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("provoking PERMISSION needs a second user: run as root to drop to nobody")
    seg = shmiface.init_instance(name)  # mode 0600, owned by root
    code = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(HERE.parent)!r})\n"
        "import shmiface\n"
        "os.setgid(65534); os.setuid(65534)  # after the imports: nobody cannot read /root\n"
        "try:\n"
        f"    shmiface.get_instance({name!r})\n"
        "except shmiface.PermissionDeniedError as e:\n"
        "    assert isinstance(e, PermissionError) and e.status == 10, e\n"
        "    print('refused:', e)\n"
        "    raise SystemExit(0)\n"
        "raise SystemExit(1)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "refused" in out.stdout
    seg.destroy()


def test_a_read_only_attacher_cannot_write(name: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs a second user: run as root to drop to nobody")
    seg = shmiface.init_instance(name, mode=0o644)
    seg.set_string("readable")
    code = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(HERE.parent)!r})\n"
        "import shmiface\n"
        "os.setgid(65534); os.setuid(65534)  # after the imports: nobody cannot read /root\n"
        f"s = shmiface.get_instance({name!r})\n"
        "assert s.get_string() == 'readable'\n"
        "try:\n"
        "    s.set_string('nope')\n"
        "except shmiface.PermissionDeniedError as e:\n"
        "    print('refused:', e); raise SystemExit(0)\n"
        "raise SystemExit(1)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert seg.get_string() == "readable"
    seg.destroy()


def test_no_space(name: str) -> None:
    # A full /dev/shm: in a private mount namespace a 256 KiB tmpfs covers it.
    # (TIMEOUT comes only from wait, which returns False: see test_wait.py.)
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("provoking NO_SPACE needs root and unshare(1) to mount a small tmpfs on /dev/shm")
    code = (
        f"import sys; sys.path.insert(0, {str(HERE.parent)!r})\n"
        "import os, shmiface\n"
        "try:\n"
        f"    shmiface.init_instance({name!r}, capacity=1 << 20)\n"
        "except shmiface.NoSpaceError as e:\n"
        "    assert isinstance(e, OSError) and e.status == 14, e\n"
        f"    assert not os.path.exists('/dev/shm/' + {name!r})\n"
        "    print('refused:', e); raise SystemExit(0)\n"
        "raise SystemExit(1)\n"
    )
    script = 'mount -t tmpfs -o size=256k,mode=1777 tmpfs /dev/shm || exit 77; exec "$0" -c "$1"'
    out = subprocess.run(["unshare", "-m", "sh", "-c", script, sys.executable, code],
                         capture_output=True, text=True, timeout=60)
    if out.returncode == 77:
        pytest.skip(f"cannot mount a tmpfs in a private namespace here: {out.stderr.strip()}")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "refused" in out.stdout
