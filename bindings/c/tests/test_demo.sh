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
#   5. after kill -9 of the owner, a new owner takes the stale segment over;
#   6. the stream: in the demo and again here, the slow reader and the late
#      joiner account for every value exactly (read + lost = sent, with the
#      lost ones counted from version gaps), the late joiner reads exactly
#      the kept history, a second producer of a live stream is refused, and
#      a leftover of an earlier run is replaced, its versions starting at 1.
#
# Environment: OWNER, WRITER, PRODUCER, LATE_JOINER, PYTHON, PYWRITER (as for
# demo.sh), PYTHONPATH, SHMIFACE_LIB.
# Waits have hang guards only; nothing asserts on time.
set -euo pipefail

: "${OWNER:?}" "${WRITER:?}" "${PYTHON:?}" "${PYWRITER:?}" "${PRODUCER:?}" "${LATE_JOINER:?}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
consumer=$here/../examples/stream_consumer.py
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

# read_lost FILE PREFIX: "R L N" from the last line starting with PREFIX
# ("... read R ..., lost L ...; read + lost = N"); fails if there is none.
read_lost() {
    local line
    line=$(grep -F -- "$2" "$1" | tail -n 1)
    [[ $line =~ read\ ([0-9]+).*lost\ ([0-9]+).*read\ \+\ lost\ =\ ([0-9]+) ]] || return 1
    echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]}"
}

# exact FILE PREFIX TOTAL [READ]: the reader read some (exactly READ if
# given), and what it read plus what it counted lost is exactly TOTAL.
exact() {
    local r l n
    read -r r l n <<<"$(read_lost "$1" "$2")" || return 1
    [[ -n $r && $n == "$3" && $((r + l)) == "$3" && $r -gt 0 ]] || return 1
    [[ -z ${4:-} || $r == "$4" ]]
}

# ---- 1. the demo script -----------------------------------------------------
name=shmiface-test-demo-$$-1
names+=("$name" "$name-stream")
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
check "demo: the producer sent 100000 values" grep -qF "[producer] sent 100000 values" "$tmp/demo.out"
check "demo: the slow reader read some and lost the rest: read + lost = 100000" \
    exact "$tmp/demo.out" "[consumer.py] done" 100000
check "demo: the slow reader skipped values (it is slow)" \
    bash -c "[[ \$(grep -F '[consumer.py] done' '$tmp/demo.out') =~ lost\ [1-9] ]]"
check "demo: the late joiner read exactly the 256 kept values: 256 + 99744 = 100000" \
    exact "$tmp/demo.out" "[late_joiner] read" 100000 256
check "demo: the late joiner saw versions 99745 to 100000" \
    grep -qF "(versions 99745 to 100000)" "$tmp/demo.out"
check "demo: the stream's segment is gone" test ! -e "/dev/shm/$name-stream"

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

# ---- 6. the stream's pieces ----------------------------------------------------------
stream=shmiface-test-demo-$$-6
names+=("$stream")
# A reader that keeps up with a paced producer, and one that is slow: both
# account for every value, whatever they lost.
mkfifo "$tmp/go"
"$PRODUCER" --count 20000 --history 64 --rate 200000 "$stream" <"$tmp/go" >"$tmp/producer.out" 2>&1 &
producer_pid=$!
pids+=("$producer_pid")
exec 4>"$tmp/go"
wait_for "$tmp/producer.out" "[producer] ready"
"$PYTHON" "$consumer" --count 20000 --work-us 0 "$stream" >"$tmp/fast.out" 2>&1 &
fast_pid=$!
"$PYTHON" "$consumer" --count 20000 --work-us 200 "$stream" >"$tmp/slow.out" 2>&1 &
slow_pid=$!
pids+=("$fast_pid" "$slow_pid")
wait_for "$tmp/fast.out" "[consumer.py] attached"
wait_for "$tmp/slow.out" "[consumer.py] attached"
second_rc=0
"$PRODUCER" --count 1 "$stream" </dev/null >"$tmp/second-producer.out" 2>&1 || second_rc=$?
check "a second producer of a live stream exits 1 (EXISTS)" \
    bash -c "[[ $second_rc = 1 ]] && grep -qF 'another producer owns' '$tmp/second-producer.out'"
echo go >&4
exec 4>&-
producer_rc=0
wait "$producer_pid" || producer_rc=$?
fast_rc=0
wait "$fast_pid" || fast_rc=$?
slow_rc=0
wait "$slow_pid" || slow_rc=$?
check "stream: the producer exits 0 after sending 20000" \
    bash -c "[[ $producer_rc = 0 ]] && grep -qF '[producer] sent 20000 values' '$tmp/producer.out'"
check "stream: both readers exit 0" test "$fast_rc$slow_rc" = 00
check "stream: the reader that keeps up: read + lost = 20000" exact "$tmp/fast.out" "[consumer.py] done" 20000
check "stream: the slow reader: read + lost = 20000, and it lost some" \
    bash -c "$(declare -f read_lost exact); exact '$tmp/slow.out' '[consumer.py] done' 20000 &&
             [[ \$(grep -F '[consumer.py] done' '$tmp/slow.out') =~ lost\ [1-9] ]]"
check "stream: the persistent segment outlives its producer" test -e "/dev/shm/$stream"
"$LATE_JOINER" "$stream" >"$tmp/late1.out" 2>&1
check "late joiner: the owner is gone, 64 kept" grep -qF "owner gone, keeps 64, versions 19937 to 20000" "$tmp/late1.out"
check "late joiner: read exactly the kept 64: 64 + 19936 = 20000" exact "$tmp/late1.out" "[late_joiner] read" 20000 64
check "late joiner without --unlink leaves the segment" test -e "/dev/shm/$stream"
# The leftover is replaced by the next producer: its versions start at 1 again.
"$PRODUCER" --count 10 --history 64 "$stream" </dev/null >"$tmp/again.out" 2>&1
check "a new producer removes the leftover of the earlier run" grep -qF "removed a leftover" "$tmp/again.out"
"$LATE_JOINER" --unlink "$stream" >"$tmp/late2.out" 2>&1
check "late joiner: the new run's 10 values, none lost" exact "$tmp/late2.out" "[late_joiner] read" 10 10
check "late joiner --unlink removes the segment" test ! -e "/dev/shm/$stream"
late_rc=0
"$LATE_JOINER" "$stream" >"$tmp/late3.out" 2>&1 || late_rc=$?
check "late joiner of a missing stream exits 1" test "$late_rc" = 1

echo "test_demo: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
