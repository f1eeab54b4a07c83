#!/usr/bin/env bash
# test_wheel.sh WHEEL — the wheel `make wheel` built (make test-wheel):
#   - its name says py3-none-manylinux_*: one wheel for every CPython 3;
#   - `auditwheel show` finds it consistent with exactly that platform tag;
#   - it installs into a fresh venv, where wheel_smoke.py passes with no
#     cargo or rustc on PATH, SHMIFACE_LIB unset and no checkout in sight.
# From make: PYTHON3, VPY (the project venv's python, with auditwheel),
# WHEEL_VENV, WHEEL_PATH (the PATH for the smoke test), PEER (a C program
# linked with -lshmiface: bindings/python/tests/peers/peer.c).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
[ $# -eq 1 ] || { echo "test_wheel: expected one wheel, got: $*" >&2; exit 1; }
wheel=$1
file=$(basename "$wheel")

case "$file" in
    shmiface-*-py3-none-manylinux_*.whl) echo "ok   $file is py3-none-manylinux" ;;
    *) echo "FAIL $file is not a py3-none-manylinux wheel" >&2; exit 1 ;;
esac
tag=${file#*-py3-none-}
tag=${tag%.whl}

# auditwheel wraps its lines: join them before reading the verdict.
report=$("$VPY" -m auditwheel show "$wheel" | tr -s ' \n' '  ')
if ! grep -q "is consistent with the following platform tag: \"$tag\"" <<<"$report"; then
    echo "$report" >&2
    echo "FAIL auditwheel show does not accept $file for $tag" >&2
    exit 1
fi
echo "ok   auditwheel show: consistent with $tag"

rm -rf "$WHEEL_VENV"
"$PYTHON3" -m venv "$WHEEL_VENV"
"$WHEEL_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel"
echo "ok   installs into a fresh venv"

# A clean environment: no cargo, no SHMIFACE_LIB, no PYTHONPATH; run from
# an empty directory, so that nothing of the checkout can be imported. The
# C peer finds the library of the build tree through LD_LIBRARY_PATH, set
# for it alone by the smoke test.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && env -i HOME="$scratch" PATH="$WHEEL_PATH" LANG=C.UTF-8 \
    PEER="$PEER" PEER_LIBDIR="$root/target/release" \
    "$WHEEL_VENV/bin/python" "$here/wheel_smoke.py")
