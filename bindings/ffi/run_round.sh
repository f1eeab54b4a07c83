#!/usr/bin/env bash
# One FFI round: the C peer owns a fresh segment, and a client in another
# language, declared from include/shmiface_ffi.h alone, sets, waits, reads
# and answers through it. Passes when both sides say ok.
#
#   run_round.sh PEER LABEL CLIENT-COMMAND...
# The client is run as CLIENT-COMMAND LIBRARY DECLARATIONS NAME.
set -euo pipefail
peer=$1 label=$2
shift 2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
lib=${SHMIFACE_LIB:-$root/target/release/libshmiface.so}
name="ffi-$label-$$"
log=$(mktemp)
trap 'rm -f "$log" "/dev/shm/$name"' EXIT

# The peer finds the library through its SONAME, as any -lshmiface program.
LD_LIBRARY_PATH=$(dirname "$lib") timeout 60 "$peer" "$name" >"$log" 2>&1 &
pid=$!
for _ in $(seq 500); do  # a hang guard of 10 s, not a timing assertion
    grep -q '^ready$' "$log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
done
grep -q '^ready$' "$log" || { cat "$log" >&2; echo "$label: FAIL: the C peer did not start" >&2; exit 1; }

timeout 60 "$@" "$lib" "$root/include/shmiface_ffi.h" "$name"
if ! wait "$pid"; then cat "$log" >&2; echo "$label: FAIL: the C peer failed" >&2; exit 1; fi
grep -q '^peer: ok$' "$log" || { cat "$log" >&2; exit 1; }
echo "$label: round with the C peer passed"
