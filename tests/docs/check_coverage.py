"""The API references name everything there is: every function, type and
constant of include/shmiface.h appears in docs/c-api.md, and every public
name of the Python package (its __all__) in docs/python-api.md. So adding
to the API without documenting it fails here, naming what is missing.

    python3 tests/docs/check_coverage.py     (make test-docs)
"""

import ast
import re
import sys

from markdown import ROOT

HEADER = ROOT / "include" / "shmiface.h"
PACKAGE = ROOT / "bindings" / "python" / "shmiface" / "__init__.py"


def header_names():
    """Functions, typedefs and #defines of the header, comments left out."""
    text = re.sub(r"/\*.*?\*/|//[^\n]*", "", HEADER.read_text(encoding="utf-8"), flags=re.S)
    names = set(re.findall(r"\b(shmiface_\w+)\s*\(", text))
    names |= set(re.findall(r"\btypedef\b[^;{]*?(?:\{[^}]*\})?\s*(shmiface_\w+)\s*;", text, flags=re.S))
    names |= set(re.findall(r"^#define\s+(SHMIFACE_\w+)\s+\S", text, flags=re.M))
    names.discard("SHMIFACE_H")  # the include guard
    return names


def python_names():
    tree = ast.parse(PACKAGE.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    sys.exit(f"check_coverage: no __all__ in {PACKAGE}")


def missing(names, doc):
    text = doc.read_text(encoding="utf-8")
    return sorted(n for n in names if not re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", text))


def main():
    failed = False
    for what, names, doc in [
        ("the C header", header_names(), ROOT / "docs" / "c-api.md"),
        ("the Python package", python_names(), ROOT / "docs" / "python-api.md"),
    ]:
        if len(names) < 10:
            sys.exit(f"check_coverage: found only {sorted(names)} in {what}: the parser is broken")
        gaps = missing(names, doc)
        if gaps:
            failed = True
            print(f"{doc.relative_to(ROOT)} does not mention, of {what}: {', '.join(gaps)}", file=sys.stderr)
        else:
            print(f"check_coverage: {doc.relative_to(ROOT)} names all {len(names)} names of {what}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
