"""Runs the README's examples as a newcomer would, so that they cannot rot.

    python3 tests/docs/readme_test.py [README.md]      (make test-readme)

What it does (readme_blocks.py says how each block is marked):

1. A fresh copy of the work tree (the files git tracks or would; no
   target/, build/ or .venv/) in build/readme/checkout, and an empty home
   directory: nothing of this machine's builds or installs can help.
2. One bash session there runs the blocks in the README's order, as one
   terminal would: what a block exports or activates holds for the next.
   A block marked `run background` runs beside it, as in a second terminal.
3. All of it inside a private mount namespace with an empty tmpfs on
   /dev/shm, so the examples' fixed names (camera, hello-cpp) never meet
   another run's, and `shmiface ls` shows exactly what the README shows.
4. Each `output` and `console` block is compared with what was printed,
   line by line, with every number standing for any number (pids, dates)
   and runs of spaces for any spacing (the table's alignment follows them).

The copy's target/ is kept between runs, to spare a full build; CI's
fresh clone always builds from nothing (the README's plain `cargo build`).
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import readme_blocks
from markdown import ROOT

WORK = ROOT / "build" / "readme"
CHECKOUT = WORK / "checkout"
HOME = WORK / "home"
STEPS = WORK / "steps"
SESSION = WORK / "session.sh"
# A hang guard for the whole README, never a timing assertion.
HANG_SECS = 900

_SETTLE = r'''
# Until every background job is asleep (two looks 10 ms apart) or gone: it
# has done what it does at once (printed its first line, started waiting),
# as it would have by the time a person types the next command.
settle() {
    local pid stat state quiet tries
    for pid in $(jobs -p); do
        quiet=0 tries=0
        while [ "$quiet" -lt 2 ]; do
            stat=$(cat "/proc/$pid/stat" 2>/dev/null) || break
            state=${stat##*) }; state=${state%% *}
            case "$state" in S|Z|T) quiet=$((quiet + 1)) ;; *) quiet=0 ;; esac
            tries=$((tries + 1))
            [ "$tries" -lt 3000 ] || { echo "readme: job $pid never settled" >&2; return 1; }
            sleep 0.01
        done
    done
}
'''


def normal(text):
    """Lines with numbers as N and spacing as one space; no trailing blanks."""
    lines = [" ".join(re.sub(r"\d+", "N", line).split()) for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def fresh_checkout():
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.split(b"\0")
    CHECKOUT.mkdir(parents=True, exist_ok=True)
    for entry in CHECKOUT.iterdir():
        if entry.name != "target":
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    for raw in filter(None, listed):
        rel = raw.decode()
        src = ROOT / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the work tree, not yet in git
        dest = CHECKOUT / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest, follow_symlinks=False)
    if HOME.exists():
        shutil.rmtree(HOME)
    HOME.mkdir(parents=True)
    if STEPS.exists():
        shutil.rmtree(STEPS)
    STEPS.mkdir(parents=True)


def session_script(blocks):
    """The bash session, and the checks to make on its output afterwards."""
    out = ["set -euo pipefail", "set -m  # jobs in process groups of their own, as in a terminal",
           f"cd {shlex.quote(str(CHECKOUT))}", _SETTLE, "BACKGROUND=()", "CURRENT=",
           "trap 's=$?; if [ -n \"$CURRENT\" ]; then cat \"$CURRENT_LOG\" \"$CURRENT_LOG.err\" >&2; "
           "echo \"readme: $CURRENT failed (status $s)\" >&2; fi' EXIT"]
    checks = []
    last_run = None
    background = []  # (log, ends, where) of the running background blocks
    section = None

    def stop_background():
        # Ctrl-C to each, as a person ends a second terminal's program.
        for log, ends, where in background:
            out.append("pid=${BACKGROUND[0]}; BACKGROUND=(\"${BACKGROUND[@]:1}\")")
            out.append("kill -INT -- -$pid; wait $pid || "
                       f"{{ s=$?; cat {log} >&2; echo 'readme: {where} ended with status '$s >&2; exit 1; }}")
            if ends:
                out.append(f"grep -qF {shlex.quote(ends)} {log} || "
                           f"{{ cat {log} >&2; echo 'readme: {where} never printed {ends}' >&2; exit 1; }}")
        background.clear()

    for n, b in enumerate(blocks):
        where = f"README line {b.line}"
        if b.section != section:
            stop_background()
            section = b.section
        log = STEPS / f"{n}.out"
        if b.verb == "file":
            out.append(f"mkdir -p \"$(dirname {shlex.quote(b.arg)})\"")
            out.append(f"cat > {shlex.quote(b.arg)} <<'README_EOF'\n{b.text}README_EOF")
        elif b.verb == "run":
            script = STEPS / f"{n}.sh"
            script.write_text(b.text)
            out.append(f"echo '== {where}' >&2")
            if b.arg.startswith("background"):
                until = re.search(r'until="([^"]*)"', b.arg)
                if not until:
                    sys.exit(f"readme: {where}: run background needs until=\"TEXT\"")
                out.append(f"( source {shlex.quote(str(script))} ) > {log} 2>&1 &")
                out.append("BACKGROUND+=($!)")
                ends = re.search(r'ends="([^"]*)"', b.arg)
                background.append((log, ends.group(1) if ends else "", where))
                out.append(f"for _ in $(seq 3000); do grep -qF {shlex.quote(until.group(1))} {log} && break; "
                           f"kill -0 $! 2>/dev/null || break; sleep 0.02; done")
                out.append(f"grep -qF {shlex.quote(until.group(1))} {log} || "
                           f"{{ cat {log} >&2; echo 'readme: {where} never printed {until.group(1)}' >&2; exit 1; }}")
            else:
                # Not in an `if` or `||`: errexit then holds inside the block too.
                out.append(f"CURRENT={shlex.quote(where)} CURRENT_LOG={log}")
                # Its `output` block is what it prints on standard output;
                # standard error (cargo's progress, make's commands) aside.
                out.append(f"source {shlex.quote(str(script))} > {log} 2> {log}.err")
                out.append("CURRENT=")
                out.append("settle")
                last_run = (log, where)
        elif b.verb == "output":
            if last_run is None:
                sys.exit(f"readme: {where}: an output block with no run block before it")
            checks.append((where, last_run[0], b.text))
        elif b.verb == "console":
            out.append(f": > {log}")
            out.append("set +e")
            for line in b.text.splitlines():
                if line.startswith("$ "):
                    command = line[2:]
                    out.append(f"printf '%s\\n' {shlex.quote(line)} >> {log}")
                    out.append(f"eval {shlex.quote(command)} >> {log} 2>&1")
                    out.append("settle")
            out.append("set -e")
            checks.append((where, log, b.text))
    stop_background()
    out.append("for pid in $(jobs -p); do echo \"readme: job $pid still running at the end\" >&2; "
               "kill -KILL -- -$pid; exit 1; done")
    out.append("echo '== the whole README ran' >&2")
    return "\n".join(out) + "\n", checks


def environment():
    """A newcomer's environment: this machine's tools, no build or install of ours."""
    keep = {k: os.environ[k] for k in ("PATH", "USER", "LOGNAME", "TERM", "TMPDIR") if k in os.environ}
    venv = str(ROOT / ".venv" / "bin")
    keep["PATH"] = os.pathsep.join(p for p in keep.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p != venv)
    real_home = Path(os.environ.get("HOME", "/root"))
    keep.update(
        HOME=str(HOME), LANG="C.UTF-8",
        # The toolchain and the download caches of the real home, not a build.
        CARGO_HOME=os.environ.get("CARGO_HOME", str(real_home / ".cargo")),
        RUSTUP_HOME=os.environ.get("RUSTUP_HOME", str(real_home / ".rustup")),
        PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR", str(real_home / ".cache" / "pip")),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    # pyenv's shims find their versions through the real home.
    if "PYENV_ROOT" in os.environ or (real_home / ".pyenv").is_dir():
        keep["PYENV_ROOT"] = os.environ.get("PYENV_ROOT", str(real_home / ".pyenv"))
    return keep


def private_shm(command):
    """`command` in a mount namespace of its own with an empty /dev/shm."""
    mount = "mount -t tmpfs -o size=256m,mode=1777 readme-test /dev/shm && exec \"$0\" \"$@\""
    for how in (["-m"], ["-r", "-m"]):
        probe = subprocess.run(["unshare", *how, "--propagation", "private", "sh", "-c", mount, "true"],
                               capture_output=True)
        if probe.returncode == 0:
            return ["unshare", *how, "--propagation", "private", "sh", "-c", mount, *command]
    sys.exit("readme: cannot make a private /dev/shm here (unshare -m, unshare -rm): "
             "run as root, or enable user namespaces")


def main(argv):
    readme = Path(argv[0]).resolve() if argv else ROOT / "README.md"
    blocks = readme_blocks.blocks(readme.read_text(encoding="utf-8"))
    bad = readme_blocks.problems(blocks)
    for b in blocks:
        if b.verb == "same-as" and (ROOT / b.arg).read_text(encoding="utf-8") != b.text:
            bad.append(f"line {b.line}: differs from {b.arg}: copy the file into the README")
    if bad:
        for problem in bad:
            print(f"{readme.name}: {problem}", file=sys.stderr)
        return 1
    fresh_checkout()
    script, checks = session_script(blocks)
    SESSION.write_text(script)
    run = subprocess.run(private_shm(["bash", str(SESSION)]), env=environment(), cwd=CHECKOUT,
                         stdin=subprocess.DEVNULL, timeout=HANG_SECS)
    if run.returncode != 0:
        print(f"readme: the session stopped (status {run.returncode}); see {SESSION}", file=sys.stderr)
        return 1
    failed = 0
    for where, log, expected in checks:
        got = log.read_text(encoding="utf-8", errors="replace")
        if normal(got) != normal(expected):
            failed += 1
            print(f"readme: {where}: the output differs (numbers match any number)\n"
                  f"--- the README\n{expected}--- printed\n{got}", file=sys.stderr)
    ran = sum(1 for b in blocks if b.verb not in (None, "skip"))
    skipped = sum(1 for b in blocks if b.verb == "skip")
    if failed:
        print(f"readme: {failed} of {len(checks)} outputs differ", file=sys.stderr)
        return 1
    print(f"readme: {ran} blocks ran and {len(checks)} outputs matched; {skipped} skipped, each with its reason")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
