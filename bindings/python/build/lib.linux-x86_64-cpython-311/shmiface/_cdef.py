"""Turns the committed C header into declarations cffi's ``cdef`` accepts.

cffi parses C without a preprocessor, so this keeps what it can read —
typedefs, structs, prototypes, ``#define NAME <integer>`` — and drops
comments, includes, include guards and the C++ ``extern "C"`` block markers.
A function added to the header shows up in Python with no other edit.
"""

from __future__ import annotations

import re

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_INT_DEFINE = re.compile(r"#define\s+(\w+)\s+\(?(-?(?:0x[0-9a-fA-F]+|\d+))[uUlL]*\)?\s*$")


def cdef_from_header(text: str) -> str:
    """Returns a preprocessor-free cdef for the contents of ``shmiface.h``."""
    out: list[str] = []
    skipping_cplusplus = 0
    for line in _COMMENT.sub("", text).splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            directive = stripped[1:].strip()
            if directive.startswith("ifdef __cplusplus"):
                skipping_cplusplus += 1
            elif directive.startswith("endif") and skipping_cplusplus:
                skipping_cplusplus -= 1
            else:
                match = _INT_DEFINE.match(stripped)
                if match and not skipping_cplusplus:
                    out.append(f"#define {match.group(1)} {match.group(2)}")
            continue
        if skipping_cplusplus or not stripped:
            continue
        out.append(line)
    return "\n".join(out) + "\n"
