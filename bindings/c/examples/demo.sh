#!/usr/bin/env bash
# demo.sh — the shmiface demo, with no typing (`make demo` runs it).
#
# Starts the C++ owner in the background and shows its output, feeds a few
# lines through the C writer and then through the Python writer, waits
# until the owner's worker has appended "..." to each, stops the owner with
# SIGINT (as Ctrl-C would) and checks that the segment is gone.
#
# Then a stream (ABI 1.1): the C producer sets STREAM_COUNT values (default
# 100000) at a million a second into a persistent segment that keeps the
# last 256; a slow Python reader (ctypes on shmiface_next) reads what it
# can and counts what it skipped; after the producer has exited, the C++
# late joiner reads the kept history and removes the segment.
#
# Exits 0 only if every line came back with "..." appended and both
# readers accounted for every value: read + lost = STREAM_COUNT.
#
# Environment (make demo sets them): OWNER, WRITER, PRODUCER, LATE_JOINER
# (built programs), PYTHON (an interpreter that can import shmiface, with
# PYTHONPATH), PYWRITER (writer.py), SHMIFACE_LIB (the library, for the
# ctypes reader). DEMO_PAUSE: seconds between lines (default 1.2, so that
# the owner's once-a-second print shows each value). DEMO_NAME: segment
# name (the stream's is DEMO_NAME-stream).
set -euo pipefail

: "${OWNER:?path of the owner program}" "${WRITER:?path of the C writer}"
: "${PYTHON:?python interpreter}" "${PYWRITER:?path of writer.py}"
: "${PRODUCER:?path of the C producer}" "${LATE_JOINER:?path of the C++ late joiner}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stream_count=${STREAM_COUNT:-100000}
pause=${DEMO_PAUSE:-1.2}
# A name of this run's own: an owner left running elsewhere cannot clash, and
# a crashed run's segment would be taken over anyway (init_instance).
name=${DEMO_NAME:-shmiface-demo-$$}
stream=$name-stream
work=$(mktemp -d "${TMPDIR:-/tmp}/shmiface-demo.XXXXXX")
log=$work/owner.log
fifo=$work/lines
owner_pid=
tail_pid=
writer_pid=
producer_pid=
consumer_pid=

cleanup() {
    local rc=$?
    if [[ -n $writer_pid ]]; then
        kill -TERM "$writer_pid" 2>/dev/null || true
        wait "$writer_pid" 2>/dev/null || true
    fi
    if [[ -n $owner_pid ]] && kill -0 "$owner_pid" 2>/dev/null; then
        kill -TERM "$owner_pid" 2>/dev/null || true
        wait "$owner_pid" 2>/dev/null || true
    fi
    local pid
    for pid in "$producer_pid" "$consumer_pid" "$tail_pid"; do
        if [[ -n $pid ]]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    # Only if the owner could not destroy it (it crashed), or the late
    # joiner did not get to remove the stream: remove the name.
    local seg
    for seg in "$name" "$stream"; do
        if [[ -e /dev/shm/$seg ]]; then
            rm -f "/dev/shm/$seg"
            echo "demo: removed the leftover segment /dev/shm/$seg" >&2
        fi
    done
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Block until the owner's output holds TEXT, while the owner (and the writer,
# when one runs) is alive. A hang guard of 15 s, never a timing check: on a
# slow machine it only takes longer.
wait_for() {
    local text=$1 i
    for ((i = 0; i < 150; i++)); do
        grep -qF -- "$text" "$log" && return 0
        kill -0 "$owner_pid" 2>/dev/null || { echo "demo: the owner exited early" >&2; return 1; }
        if [[ -n $writer_pid ]] && ! kill -0 "$writer_pid" 2>/dev/null; then
            echo "demo: the writer exited early" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "demo: gave up waiting for: $text" >&2
    return 1
}

# run_writer COMMAND... -- LINE...: start the writer, give it each line on
# its standard input, and wait for the owner's worker to have appended "..."
# to it before the next; then close its input and check its exit status.
run_writer() {
    local cmd=() line rc=0
    while [[ $1 != -- ]]; do cmd+=("$1"); shift; done
    shift
    rm -f "$fifo" && mkfifo "$fifo"
    "${cmd[@]}" <"$fifo" &
    writer_pid=$!
    exec 3>"$fifo"
    for line in "$@"; do
        printf '%s\n' "$line" >&3
        wait_for "\"$line\" -> \"$line...\"" || { exec 3>&-; return 1; }
        sleep "$pause"
    done
    exec 3>&-
    wait "$writer_pid" || rc=$?
    writer_pid=
    if [[ $rc -ne 0 ]]; then
        echo "demo: the writer exited with status $rc" >&2
        return 1
    fi
}

if ! "$PYTHON" -c 'import shmiface' 2>"$work/import.err"; then
    cat "$work/import.err" >&2
    echo "demo: $PYTHON cannot import shmiface (PYTHONPATH=${PYTHONPATH:-}); the Python writer needs it" >&2
    exit 1
fi

echo "== shmiface demo: segment \"$name\""
echo "== starting the owner (C++): it prints the value every second, and its worker"
echo "== appends \"...\" whenever a writer sets a value with notify"
"$OWNER" --seconds 60 "$name" >"$log" 2>&1 &
owner_pid=$!
tail -n +1 -f --pid="$owner_pid" "$log" &
tail_pid=$!
wait_for "[owner] ready"
sleep "$pause"

echo "== the C writer (writer.c) sets two lines"
run_writer "$WRITER" "$name" -- "hello from C" "shared memory is fast"

echo "== the Python writer (writer.py) sets two lines"
run_writer "$PYTHON" "$PYWRITER" "$name" -- "hello from Python" "no update is lost"

echo "== stopping the owner with SIGINT"
kill -INT "$owner_pid"
owner_rc=0
wait "$owner_pid" || owner_rc=$?
owner_pid=
wait "$tail_pid" 2>/dev/null || true
tail_pid=

if [[ $owner_rc -ne 0 ]]; then
    echo "demo: the owner exited with status $owner_rc" >&2
    exit 1
fi
grep -qF "[owner] done" "$log" || { echo "demo: the owner did not shut down cleanly" >&2; exit 1; }
if [[ -e /dev/shm/$name ]]; then
    echo "demo: the segment is still there after the owner exited" >&2
    exit 1
fi
echo "== every line came back with \"...\" appended; the segment is removed"

# ---- a stream ----------------------------------------------------------------
# "read R, lost L; read + lost = N" from a reader's last line: N must be the count.
accounted() {
    local line
    line=$(grep -F "$2" "$1" | tail -n 1)
    [[ $line =~ read\ \+\ lost\ =\ ([0-9]+) ]] && [[ ${BASH_REMATCH[1]} == "$stream_count" ]]
}

echo
echo "== a stream: the C producer (producer.c) sets $stream_count values, a million a second,"
echo "== into \"$stream\", which keeps the last 256; the Python reader (stream_consumer.py,"
echo "== ctypes on shmiface_next) is slow on purpose and counts every value it skipped"
stream_log=$work/stream.log
rm -f "$fifo" && mkfifo "$fifo"
"$PRODUCER" --count "$stream_count" --history 256 "$stream" <"$fifo" >>"$stream_log" 2>&1 &
producer_pid=$!
exec 3>"$fifo"
wait_stream() {  # TEXT: until the stream's log holds it (15 s hang guard)
    local i
    for ((i = 0; i < 150; i++)); do
        grep -qF -- "$1" "$stream_log" && return 0
        sleep 0.1
    done
    echo "demo: gave up waiting for: $1" >&2
    return 1
}
wait_stream "[producer] ready"
"$PYTHON" "$here/stream_consumer.py" --count "$stream_count" "$stream" >>"$stream_log" 2>&1 &
consumer_pid=$!
wait_stream "[consumer.py] attached"
echo go >&3  # the producer starts
exec 3>&-
producer_rc=0
wait "$producer_pid" || producer_rc=$?
producer_pid=
consumer_rc=0
wait "$consumer_pid" || consumer_rc=$?
consumer_pid=
cat "$stream_log"
if [[ $producer_rc -ne 0 || $consumer_rc -ne 0 ]]; then
    echo "demo: the producer exited with $producer_rc, the reader with $consumer_rc" >&2
    exit 1
fi
accounted "$stream_log" "[consumer.py] done" || { echo "demo: the reader lost count" >&2; exit 1; }

echo "== the producer has exited; the C++ late joiner (late_joiner.cpp) reads what the"
echo "== segment kept, then removes it"
"$LATE_JOINER" --unlink "$stream" | tee "$work/late.log"
accounted "$work/late.log" "[late_joiner] read" || { echo "demo: the late joiner lost count" >&2; exit 1; }
if [[ -e /dev/shm/$stream ]]; then
    echo "demo: the stream's segment is still there" >&2
    exit 1
fi
echo "== done: both readers accounted for all $stream_count values (read + lost); both segments are removed"
