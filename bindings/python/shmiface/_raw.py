"""The library calls that take or fill a value, typed for Python's own
objects, and a pool of output buffers for reads.

Through these ``char *`` signatures cffi passes a ``bytes`` object straight
to C (no ``ffi.from_buffer`` wrapper) and ``ffi.unpack`` turns a read
buffer into ``bytes`` in one step (``_fastpath.as_chars`` makes
any other buffer fit the same signatures); a call through a cast function pointer
also skips the attribute lookup of ``lib``. On a 128-byte value that is a
third of the cost of a set or get from Python. They are the library's own
functions, cast, not second implementations.
"""

from __future__ import annotations

from typing import List

from ._lib import ffi, lib

# shmiface_set_string and shmiface_set_string_notify, for a value with no
# NUL byte of its own: cffi passes a bytes object as a pointer to its
# internal buffer, which Python always ends with a NUL, and two arguments
# cross the boundary faster than set_bytes's five (about 60 ns a call).
set_string = ffi.cast(
    "shmiface_status (*)(struct shmiface_segment *, const char *)",
    ffi.addressof(lib, "shmiface_set_string"),
)
set_string_notify = ffi.cast(
    "shmiface_status (*)(struct shmiface_segment *, const char *)",
    ffi.addressof(lib, "shmiface_set_string_notify"),
)
set_bytes = ffi.cast(
    "shmiface_status (*)(struct shmiface_segment *, const char *, size_t, uint32_t, uint64_t *)",
    ffi.addressof(lib, "shmiface_set_bytes"),
)
compare_and_set = ffi.cast(
    "shmiface_status (*)(struct shmiface_segment *, uint64_t, const char *, size_t, uint32_t, uint64_t *)",
    ffi.addressof(lib, "shmiface_compare_and_set"),
)
# shmiface_next into the pooled buffers below: get_bytes and get_string read
# the current value with it (SHMIFACE_LATEST), since it gives the value's
# version with the value, and so do the reads of a stream.
next_into = ffi.cast(
    "shmiface_status (*)(const struct shmiface_segment *, uint64_t *, char *, size_t, size_t *, int64_t)",
    ffi.addressof(lib, "shmiface_next"),
)

# The first size of an output buffer; a read of a larger value grows it.
FIRST_SIZE = 4096
# A buffer grown past this goes back to the allocator after its read rather
# than to the pool, so one huge read does not pin its memory for good.
POOL_AT_MOST = 1 << 20


class Output:
    """An output buffer, and the length and version out-parameters of ``next``."""

    __slots__ = ("size", "buf", "length", "version")

    def __init__(self, size: int = FIRST_SIZE) -> None:
        self.size = size
        self.buf = ffi.new("char[]", size)
        self.length = ffi.new("size_t *")
        self.version = ffi.new("uint64_t *")

    def grow(self, needed: int) -> None:
        size = max(needed, 2 * self.size)
        self.size = size
        self.buf = ffi.new("char[]", size)


# Buffers not in use. A read takes one (``pop``; a new one if the pool is
# empty) and puts it back (``append``): each is atomic under the GIL, so
# threads, and a signal handler reading while its own thread is mid-read,
# never share a buffer.
pool: List[Output] = []
