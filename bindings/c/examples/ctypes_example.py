"""ctypes_example.py — libshmiface from Python's ctypes, written from docs/c-api.md alone.

No cffi, no header, no shmiface package: this is what any FFI (LuaJIT,
Julia, Node, ...) has to do, spelled out in the standard library.

    SHMIFACE_LIB=target/release/libshmiface.so python3 bindings/c/examples/ctypes_example.py [NAME]

Without SHMIFACE_LIB it loads libshmiface.so.1 from the system's search
path. It creates a segment, sets and reads a value as a string and as
bytes, reads the info snapshot, shows a status code with its detail,
destroys the segment and checks that it is gone; any surprise raises.
"""

import ctypes
import os
import sys

# ---- the ABI, transcribed ---------------------------------------------------

SHMIFACE_ABI_VERSION = 1
SHMIFACE_OK = 0
SHMIFACE_ERR_NOT_FOUND = 4
SHMIFACE_ERR_BUFFER_TOO_SMALL = 7
SHMIFACE_SET_NOTIFY = 1

status_t = ctypes.c_int32          # typedef int32_t shmiface_status
segment_p = ctypes.c_void_p        # shmiface_segment * (opaque)


class Options(ctypes.Structure):
    _fields_ = [("capacity", ctypes.c_uint64),
                ("mode", ctypes.c_uint32),
                ("flags", ctypes.c_uint32)]


class Info(ctypes.Structure):
    _fields_ = [("capacity", ctypes.c_uint64),
                ("length", ctypes.c_uint64),
                ("version", ctypes.c_uint64),
                ("notify_count", ctypes.c_uint64),
                ("waiters", ctypes.c_uint32),
                ("mode", ctypes.c_uint32),
                ("owner_pid", ctypes.c_int32),
                ("owner_alive", ctypes.c_bool),
                ("is_owner", ctypes.c_bool),
                ("destroyed", ctypes.c_bool)]


def load(path):
    lib = ctypes.CDLL(path)
    sig = {
        "init_instance": (status_t, [ctypes.c_char_p, ctypes.POINTER(Options), ctypes.POINTER(segment_p)]),
        "get_instance": (status_t, [ctypes.c_char_p, ctypes.POINTER(segment_p)]),
        "get_string": (status_t, [segment_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
        "set_string": (status_t, [segment_p, ctypes.c_char_p]),
        "set_string_notify": (status_t, [segment_p, ctypes.c_char_p]),
        "destroy": (status_t, [segment_p]),
        "get_bytes": (status_t, [segment_p, ctypes.c_void_p, ctypes.c_size_t,
                                 ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_uint64)]),
        "set_bytes": (status_t, [segment_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32,
                                 ctypes.POINTER(ctypes.c_uint64)]),
        "get_info": (status_t, [segment_p, ctypes.POINTER(Info)]),
        "unlink": (status_t, [ctypes.c_char_p]),
        "status_str": (ctypes.c_char_p, [status_t]),
        "last_error": (ctypes.c_size_t, [ctypes.c_char_p, ctypes.c_size_t]),
        "abi_version": (ctypes.c_uint32, []),
        "version": (ctypes.c_char_p, []),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, "shmiface_" + name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


class ShmifaceError(Exception):
    def __init__(self, lib, call, status):
        need = lib.shmiface_last_error(None, 0)
        buf = ctypes.create_string_buffer(need + 1)
        lib.shmiface_last_error(buf, len(buf))
        self.status = status
        super().__init__(f"{call}: {lib.shmiface_status_str(status).decode()} "
                         f"(status {status}: {buf.value.decode(errors='replace')})")


def check(lib, call, status):
    if status != SHMIFACE_OK:
        raise ShmifaceError(lib, call, status)


# ---- using it -----------------------------------------------------------------

def get_string(lib, seg):
    size = 16  # deliberately small: shows the BUFFER_TOO_SMALL retry
    while True:
        buf = ctypes.create_string_buffer(size)
        length = ctypes.c_size_t()
        st = lib.shmiface_get_string(seg, buf, size, ctypes.byref(length))
        if st == SHMIFACE_ERR_BUFFER_TOO_SMALL:
            size = length.value + 1
            continue
        check(lib, "shmiface_get_string", st)
        return buf.raw[:length.value].decode()


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else f"shmiface-ctypes-{os.getpid()}"
    lib = load(os.environ.get("SHMIFACE_LIB") or "libshmiface.so.1")
    abi = lib.shmiface_abi_version()
    if abi != SHMIFACE_ABI_VERSION:
        raise SystemExit(f"library speaks ABI {abi}, this example was written for {SHMIFACE_ABI_VERSION}")
    print(f"libshmiface {lib.shmiface_version().decode()}, ABI {abi}")

    seg = segment_p()
    check(lib, "shmiface_init_instance",
          lib.shmiface_init_instance(name.encode(), ctypes.byref(Options(capacity=256)), ctypes.byref(seg)))
    try:
        text = "hello from ctypes, a value longer than sixteen bytes"
        check(lib, "shmiface_set_string", lib.shmiface_set_string(seg, text.encode()))
        got = get_string(lib, seg)
        assert got == text, (got, text)
        print(f"get_string -> {got!r}")

        blob = b"bytes\x00with\x00NULs"
        version = ctypes.c_uint64()
        check(lib, "shmiface_set_bytes",
              lib.shmiface_set_bytes(seg, blob, len(blob), SHMIFACE_SET_NOTIFY, ctypes.byref(version)))
        buf = ctypes.create_string_buffer(256)
        length, read_version = ctypes.c_size_t(), ctypes.c_uint64()
        check(lib, "shmiface_get_bytes",
              lib.shmiface_get_bytes(seg, buf, len(buf), ctypes.byref(length), ctypes.byref(read_version)))
        assert buf.raw[:length.value] == blob and read_version.value == version.value == 2
        print(f"get_bytes  -> {buf.raw[:length.value]!r} (version {read_version.value})")

        info = Info()
        check(lib, "shmiface_get_info", lib.shmiface_get_info(seg, ctypes.byref(info)))
        assert (info.capacity, info.length, info.version) == (256, len(blob), 2), \
            (info.capacity, info.length, info.version)
        assert info.notify_count == 1 and info.is_owner and info.owner_alive and not info.destroyed
        assert info.owner_pid == os.getpid() and info.mode == 0o600
        print("get_info   -> " + ", ".join(f"{f}={getattr(info, f)}" for f, _ in Info._fields_))
    finally:
        check(lib, "shmiface_destroy", lib.shmiface_destroy(seg))

    other = segment_p()
    st = lib.shmiface_get_instance(name.encode(), ctypes.byref(other))
    assert st == SHMIFACE_ERR_NOT_FOUND, st
    print(f"after destroy, get_instance -> {ShmifaceError(lib, 'shmiface_get_instance', st)}")
    print("ctypes example: ok")


if __name__ == "__main__":
    main()
