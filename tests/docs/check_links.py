"""Every relative link in every Markdown file of the repository resolves
to a file or directory inside it (and an anchor to a heading of the file it
names); no link or mention leads out of it, such as to a ../shared folder
that a clone does not have; and no tracked file of any kind (code comments,
tests, headers) names a contract page that is not in the repository.

    python3 tests/docs/check_links.py     (make test-docs)
"""

import re
import sys
from urllib.parse import unquote

import markdown

# Links that leave for the web are not this test's business.
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)
# Contracts kept outside the repository, which no reader of a clone has,
# named by any tracked file: by a path into shared/, or by a bare name no
# file of the tree has.
_OUTSIDE_NAME = re.compile(r"(shared/)?\b((?:ABI|PYTHON|DESIGN)\.md)\b")


def problems():
    found = []
    root = markdown.ROOT
    pages = markdown.files()
    for path in pages:
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(root)
        for number, target in markdown.links(text):
            if _EXTERNAL.match(target):
                continue
            file_part, _, fragment = target.partition("#")
            dest = (path.parent / unquote(file_part)).resolve() if file_part else path
            if root not in dest.parents and dest != root:
                found.append(f"{where}:{number}: {target} leads out of the repository")
                continue
            if not dest.exists():
                found.append(f"{where}:{number}: {target}: no such file in the repository")
                continue
            if fragment and dest.suffix == ".md":
                if fragment not in markdown.anchors(dest.read_text(encoding="utf-8")):
                    found.append(f"{where}:{number}: {target}: no heading #{fragment} in {dest.relative_to(root)}")
    found.extend(names_outside({p.name for p in pages}))
    return found


def names_outside(present):
    """Lines of tracked files that name a contract page outside the tree
    (`present`: the names of the tree's Markdown files)."""
    found = []
    for path in markdown.tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for match in _OUTSIDE_NAME.finditer(line):
                if match.group(1) or match.group(2) not in present:
                    where = path.relative_to(markdown.ROOT)
                    found.append(f"{where}:{number}: names {match.group(0)}, which the repository does not have: {line.strip()}")
    return found


def main():
    found = problems()
    for problem in found:
        print(problem, file=sys.stderr)
    count = len(markdown.files())
    if found:
        print(f"check_links: {len(found)} broken, in {count} Markdown files", file=sys.stderr)
        return 1
    print(f"check_links: every relative link of {count} Markdown files resolves inside the repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
