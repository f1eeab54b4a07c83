"""Turns the committed C header into declarations cffi's ``cdef`` accepts.

cffi parses C without a preprocessor, so this keeps what it can read —
typedefs, structs, prototypes, ``#define NAME <integer>`` — and drops
comments, includes, pragmas, include guards and whatever sits inside a
``#ifdef __cplusplus`` block (the ``extern "C" {`` markers). A function
added to the header shows up in Python with no other edit.

C allows a function to be declared twice with the same prototype (the
generated header does so for some), but cffi refuses any repeat, so a
declaration identical to an earlier one is dropped.
"""

from __future__ import annotations

import re
from typing import List, Tuple

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_INT_DEFINE = re.compile(
    r"define\s+([A-Za-z_]\w*)\s+\(?\s*(-?(?:0[xX][0-9a-fA-F]+|\d+))[uUlL]*\s*\)?$"
)


def _strip_comments(text: str) -> str:
    # A block comment may span lines: keep its newlines so line structure stays.
    text = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    # Join continued lines, so a multi-line macro is one directive.
    return re.sub(r"\\\n", " ", text)


def cdef_from_header(text: str) -> str:
    """Returns a preprocessor-free cdef for the contents of ``shmiface.h``.

    Conditional blocks are kept, except those that exist only for C++
    (``#ifdef __cplusplus`` / ``#if defined(__cplusplus)``, and the
    ``#else`` branch of ``#ifndef __cplusplus``). Integer ``#define``s become
    cffi integer constants; every other directive is dropped.
    """
    out: List[str] = []
    # One entry per open conditional: (is it about __cplusplus, is its
    # current branch C++-only).
    blocks: List[Tuple[bool, bool]] = []
    for line in _strip_comments(text).splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            directive = stripped[1:].strip()
            keyword = directive.split(None, 1)[0] if directive else ""
            if keyword in ("if", "ifdef", "ifndef"):
                about_cxx = "__cplusplus" in directive
                negated = keyword == "ifndef" or "!" in directive
                blocks.append((about_cxx, about_cxx and not negated))
            elif keyword == "else" and blocks and blocks[-1][0]:
                blocks[-1] = (True, not blocks[-1][1])
            elif keyword == "endif" and blocks:
                blocks.pop()
            elif keyword == "define" and not any(skip for _, skip in blocks):
                match = _INT_DEFINE.match(directive)
                if match:
                    out.append(f"#define {match.group(1)} {match.group(2)}")
            continue
        if stripped and not any(skip for _, skip in blocks):
            out.append(line.rstrip())
    return "\n".join(_without_repeats(out)) + "\n"


def _without_repeats(lines: List[str]) -> List[str]:
    """``lines`` without any top-level declaration that repeats an earlier
    one word for word (whitespace aside); each kept one keeps its lines."""
    kept: List[str] = []
    seen = set()
    statement: List[str] = []
    depth = 0
    for line in lines:
        statement.append(line)
        depth += line.count("{") - line.count("}")
        if depth > 0 or not (line.endswith(";") or line.lstrip().startswith("#")):
            continue
        key = " ".join(" ".join(statement).split())
        if key not in seen:
            seen.add(key)
            kept.extend(statement)
        statement = []
    return kept + statement
