"""The Python cffi side of an FFI round (see ../run_round.sh and ../peer.c):
include/shmiface_ffi.h given to ``ffi.cdef`` as it is. (The shmiface
package makes its own declarations from shmiface.h; this checks the file
meant for every other program.)

    python round.py LIBRARY DECLARATIONS NAME
"""

import sys

from cffi import FFI


def main(lib_path, decls_path, name):
    ffi = FFI()
    with open(decls_path, encoding="utf-8") as f:
        ffi.cdef(f.read())
    lib = ffi.dlopen(lib_path)

    def check(status, what):
        if status != lib.SHMIFACE_OK:
            detail = ffi.new("char[256]")
            lib.shmiface_last_error(detail, 256)
            sys.exit(f"{what}: {ffi.string(lib.shmiface_status_str(status))} ({ffi.string(detail)})")

    assert lib.shmiface_abi_version() == lib.SHMIFACE_ABI_VERSION
    out = ffi.new("shmiface_segment *[1]")
    assert lib.shmiface_get_instance((name + "-missing").encode(), out) == lib.SHMIFACE_ERR_NOT_FOUND
    assert lib.shmiface_last_error(ffi.NULL, 0) > 0

    check(lib.shmiface_get_instance(name.encode(), out), "get_instance")
    seg = out[0]
    info = ffi.new("shmiface_info *")
    check(lib.shmiface_get_info(seg, info), "get_info")
    assert info.capacity == 256 and info.owner_alive and not info.is_owner

    buf = ffi.new("char[257]")
    length = ffi.new("size_t *")

    def value():
        check(lib.shmiface_get_string(seg, buf, 257, length), "get_string")
        return ffi.string(buf, length[0]).decode()

    check(lib.shmiface_set_string_notify(seg, b"ping from cffi"), "set_string_notify")
    seen = ffi.new("uint64_t *")
    while value() != "pong to cffi":
        check(lib.shmiface_wait(seg, seen, 30000), "wait for the pong")

    version = ffi.new("uint64_t *")
    data = ffi.new("uint8_t[256]")
    check(lib.shmiface_get_bytes(seg, data, 256, length, version), "get_bytes")
    assert length[0] == len("pong to cffi") and version[0] >= 2

    check(lib.shmiface_set_string_notify(seg, b"done"), "set done")
    check(lib.shmiface_destroy(seg), "destroy")
    print("cffi: ok")


if __name__ == "__main__":
    main(*sys.argv[1:])
