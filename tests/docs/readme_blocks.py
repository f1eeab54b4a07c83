"""The code blocks of a Markdown file and what the README test does with
each, as said by the comment just above its fence:

    <!-- test: run -->                       run it (sh) in the session
    <!-- test: run background until=TEXT [ends=TEXT] -->
                                             run it (sh) beside the session, as in a
                                             second terminal; go on once it prints
                                             until=; at the end of its section (the
                                             next ## heading) it gets Ctrl-C (SIGINT)
                                             and must end with status 0, having
                                             printed ends= when given
    <!-- test: file PATH -->                 write it to PATH (in the checkout)
    <!-- test: same-as PATH -->              it must be exactly the repository's PATH
    <!-- test: output -->                    what the run block before it prints
    <!-- test: console -->                   `$ ` commands and what they print
    <!-- test: skip REASON -->               not run, and why

Every block of a language the test knows (sh, console, c, cpp, python,
lua, text) must say one of these, so that no example goes untested by
oversight.
"""

import re
from dataclasses import dataclass
from typing import List, Optional

_DIRECTIVE = re.compile(r"^<!--\s*test:\s*(?P<verb>[a-z-]+)\s*(?P<arg>.*?)\s*-->$")
_FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")
KNOWN = {"sh", "console", "c", "cpp", "python", "lua", "text", "cmake"}
VERBS = {"run", "file", "same-as", "output", "console", "skip"}


@dataclass
class Block:
    lang: str
    text: str
    line: int
    verb: Optional[str]
    arg: str
    section: int


def blocks(markdown: str) -> List[Block]:
    lines = markdown.splitlines()
    found: List[Block] = []
    section = 0
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            if lines[i].startswith("## "):
                section += 1
            i += 1
            continue
        start = i
        directive = None
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0:
            directive = _DIRECTIVE.match(lines[j].strip())
        body = []
        i += 1
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        found.append(Block(
            lang=fence.group("lang"),
            text="\n".join(body) + "\n",
            line=start + 1,
            verb=directive.group("verb") if directive else None,
            arg=directive.group("arg") if directive else "",
            section=section,
        ))
        i += 1
    return found


def problems(found: List[Block]) -> List[str]:
    """Blocks with no directive, or one the test does not know."""
    out = []
    for b in found:
        if b.verb is None and b.lang in KNOWN:
            out.append(f"line {b.line}: a ```{b.lang} block with no <!-- test: ... --> above it")
        elif b.verb is not None and b.verb not in VERBS:
            out.append(f"line {b.line}: unknown directive test: {b.verb}")
        elif b.verb == "skip" and not b.arg:
            out.append(f"line {b.line}: test: skip needs a reason")
    return out
