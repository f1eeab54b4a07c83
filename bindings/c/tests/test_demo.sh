#!/usr/bin/env bash
# test_demo.sh — the demo's pieces, scripted (make test-c-demo).
#
#   1. demo.sh itself (C writer, Python writer, SIGINT) exits 0 and shows
#      every line with "..." appended;
#   2. a burst of lines from the C writer: the last one always comes back
#      with "..." (a coalesced notification loses no update);
#   3. SIGTERM: the owner exits 0, its waiter returns DESTROYED, the name is
#      gone; a writer still attached then fails with DESTROYED;
#   4. a second owner of a live name is refused (EXISTS);
#   5. after kill -9 of the owner, a new owner takes the stale segment over.
#
# Environment: OWNER, WRITER, PYTHON, PYWRITER (as for demo.sh), PYTHONPATH.
# Waits have hang guards only; nothing asserts on time.
set -euo pipefail

: "${OWNER:?}" "${WRITER:?}" "${PYTHON:?}" "${PYWRITER:?}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmiface-demo-test.XXXXXX")
pids=()
names=()
passed=0
failed=0

cleanup() {
    local pid name
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    for name in "${names[@]}"; do rm -f "/dev/shm/$name"; done
    rm -rf "$tmp"
}
trap cleanup EXIT

ok()   { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

# wait_for FILE TEXT: until FILE holds TEXT; 20 s hang guard.
wait_for() {
    local i
    for ((i = 0; i < 200; i++)); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "  gave up waiting for '$2' in $1:" >&2
    sed 's/^/  | /' "$1" >&2 || true
    return 1
}

# start_owner NAME LOG: the owner in the background; sets owner_pid.
start_owner() {
    names+=("$1")
    "$OWNER" --seconds 90 "$1" >"$2" 2>&1 &
    owner_pid=$!
    pids+=("$owner_pid")
    wait_for "$2" "[owner] ready"
}

# stop_owner SIGNAL: signal the owner and collect its exit status in owner_rc.
stop_owner() {
    kill "-$1" "$owner_pid"
    owner_rc=0
    { wait "$owner_pid"; } 2>/dev/null || owner_rc=$?  # no "Killed" notice from the shell
}

# ---- 1. the demo script -----------------------------------------------------
name=shmiface-test-demo-$$-1
names+=("$name")
if DEMO_PAUSE=0 DEMO_NAME=$name bash "$here/../examples/demo.sh" >"$tmp/demo.out" 2>&1; then
    ok "demo.sh exits 0"
else
    fail "demo.sh exits 0"
    sed 's/^/  | /' "$tmp/demo.out" >&2
fi
for line in "hello from C" "shared memory is fast" "hello from Python" "no update is lost"; do
    check "demo: \"$line\" came back as \"$line...\"" \
        grep -qF "\"$line\" -> \"$line...\"" "$tmp/demo.out"
done
check "demo: the Python writer sent its lines" grep -qF '[writer.py] sent "hello from Python"' "$tmp/demo.out"
check "demo: the owner shut down on SIGINT" grep -qF "[owner] SIGINT received" "$tmp/demo.out"
check "demo: the segment is gone" test ! -e "/dev/shm/$name"

# ---- 2. a burst: the last update is never lost ------------------------------------
name=shmiface-test-demo-$$-2
start_owner "$name" "$tmp/burst.log"
seq -f "burst-%g" 1 200 | "$WRITER" "$name" >"$tmp/burst.writer" 2>&1
check "burst: the C writer sent 200 lines" test "$(grep -c '^\[writer.c\] sent' "$tmp/burst.writer")" = 200
# However the notifications coalesced, the value ends as the last line plus "...".
check "burst: the last line came back with \"...\"" wait_for "$tmp/burst.log" '[owner] value: "burst-200..."'
check "burst: no \"......\" (the owner's own write does not notify)" \
    bash -c "! grep -qF '......' '$tmp/burst.log'"

# ---- 3. SIGTERM, and a writer left attached ---------------------------------------
mkfifo "$tmp/lines"
"$WRITER" "$name" <"$tmp/lines" >"$tmp/attached.out" 2>&1 &
writer_pid=$!
pids+=("$writer_pid")
exec 3>"$tmp/lines"
echo "before the end" >&3
check "attached writer: its line came back with \"...\"" \
    wait_for "$tmp/burst.log" '"before the end" -> "before the end..."'
stop_owner TERM
check "SIGTERM: the owner exits 0" test "$owner_rc" = 0
check "SIGTERM: the waiting worker returned DESTROYED" grep -qF "[worker] the segment was destroyed" "$tmp/burst.log"
check "SIGTERM: the owner says done" grep -qF "[owner] done" "$tmp/burst.log"
check "SIGTERM: the name is gone" test ! -e "/dev/shm/$name"
echo "after the end" >&3
exec 3>&-
writer_rc=0
wait "$writer_pid" || writer_rc=$?
check "attached writer: fails after the owner destroyed the segment" test "$writer_rc" = 1
check "attached writer: says the segment was destroyed" \
    grep -qiF "destroyed" "$tmp/attached.out"
writer_rc=0
echo "nobody home" | "$WRITER" "$name" >"$tmp/late.out" 2>&1 || writer_rc=$?
check "late writer: exits 1 and says to start the owner" \
    bash -c "[[ $writer_rc = 1 ]] && grep -qF 'start the owner first' '$tmp/late.out'"

# ---- 4. one owner per name ----------------------------------------------------------
name=shmiface-test-demo-$$-4
start_owner "$name" "$tmp/first.log"
second_rc=0
"$OWNER" --seconds 5 "$name" >"$tmp/second.log" 2>&1 || second_rc=$?
check "a second owner of a live name exits 1" test "$second_rc" = 1
check "a second owner says the name is taken" grep -qF "another owner" "$tmp/second.log"

# ---- 5. kill -9, then a new owner takes the stale segment over ----------------------
echo "survivor" | "$WRITER" "$name" >/dev/null
wait_for "$tmp/first.log" '"survivor" -> "survivor..."' >/dev/null
stop_owner KILL
check "kill -9 leaves the stale segment behind" test -e "/dev/shm/$name"
start_owner "$name" "$tmp/takeover.log"
ok "a new owner takes the stale segment over"
check "the takeover keeps the last complete value" \
    wait_for "$tmp/takeover.log" '[owner] value: "survivor..."'
echo "after the takeover" | "$WRITER" "$name" >/dev/null
check "the new owner's worker appends \"...\"" \
    wait_for "$tmp/takeover.log" '"after the takeover" -> "after the takeover..."'
stop_owner INT
check "the new owner exits 0 on SIGINT" test "$owner_rc" = 0
check "the name is gone" test ! -e "/dev/shm/$name"

echo "test_demo: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
