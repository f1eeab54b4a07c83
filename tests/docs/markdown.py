"""What the docs tests read in Markdown: the repository's Markdown files,
their links (outside code), and their headings as GitHub anchors them."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_FENCE = re.compile(r"^(```|~~~)")
_INLINE_CODE = re.compile(r"`+[^`]*`+")
_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def files():
    """Every Markdown file of the work tree that git tracks or would."""
    return [p for p in tracked_files() if p.suffix == ".md"]


def tracked_files():
    """Every file of the work tree that git tracks or would, of any kind."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return sorted(ROOT / p for p in out.splitlines() if (ROOT / p).is_file())


def prose_lines(text):
    """(line number, line) outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def links(text):
    """(line number, target) of every inline link, image and reference definition."""
    for number, line in prose_lines(text):
        bare = _INLINE_CODE.sub("", line)
        for match in _LINK.finditer(bare):
            yield number, match.group(1)
        ref = _REF_DEF.match(bare)
        if ref:
            yield number, ref.group(1)


def anchor(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text, flags=re.UNICODE)
    return text.replace(" ", "-")


def anchors(text):
    """Every anchor of a file's headings (repeats numbered as GitHub does)."""
    seen = {}
    out = set()
    for _, line in prose_lines(text):
        match = _HEADING.match(line)
        if match:
            base = anchor(match.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out
