#!/usr/bin/env bash
# no_stray_output.sh NAME — pass standard input through, line by line, and
# fail at its end if a line starts with [ or {: a command's JSON that leaked
# out of a test's check into its output (what a test prints is its own
# "ok"/"FAIL" lines and the programs' one-line reports, never raw JSON).
set -euo pipefail
name=${1:-output}
exec awk -v name="$name" '
    { print; fflush() }
    /^[[{]/ { stray = stray "\n  " NR ": " $0 }
    END {
        if (stray != "") {
            printf "%s: stray output, a command'"'"'s stdout inside a check:%s\n", name, stray > "/dev/stderr"
            exit 1
        }
    }'
