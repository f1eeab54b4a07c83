"""Two "hosts" on one machine: each a mount namespace with a private tmpfs
on /dev/shm, so a segment name exists separately on each side, while the
network (loopback) is shared. Every process is real and runs inside its
host through nsenter."""

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BRIDGE = Path(os.environ.get("SHMIFACE_BRIDGE", ROOT / "target/release/shmiface-bridge"))
CLI = ROOT / "target/release/shmiface"
PEER = Path(os.environ.get("SHMIFACE_BRIDGE_PEER", ROOT / "build/bridge/peer"))
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout=20.0, every=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Host:
    def __init__(self, name: str, logdir: Path):
        self.name = name
        self.logdir = logdir
        self.holder = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "--", "bash", "-c",
             "mount -t tmpfs tmpfs /dev/shm && echo up && exec sleep infinity"],
            stdout=subprocess.PIPE, text=True)
        line = self.holder.stdout.readline().strip()
        assert line == "up", f"host {name}: no private /dev/shm ({line!r})"
        self.procs = []

    def cmd(self, argv):
        return ["nsenter", "-t", str(self.holder.pid), "-m", "--"] + [str(a) for a in argv]

    def run(self, argv, **kw):
        kw.setdefault("timeout", 30)
        return subprocess.run(self.cmd(argv), capture_output=True, text=True, **kw)

    def spawn(self, argv, **kw):
        p = subprocess.Popen(self.cmd(argv), **kw)
        self.procs.append(p)
        return p

    def cli(self, *args) -> str:
        r = self.run([CLI, *args])
        assert r.returncode == 0, f"shmiface {' '.join(args)} on {self.name}: {r.stderr}"
        return r.stdout

    def exists(self, name: str) -> bool:
        return self.run(["test", "-e", f"/dev/shm/{name}"]).returncode == 0

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        self.holder.kill()
        self.holder.wait()


class Bridge:
    """One shmiface-bridge process on a host; its log is a file."""

    count = 0

    def __init__(self, host: Host, args):
        self.host = host
        self.args = [str(a) for a in args]
        Bridge.count += 1
        self.log = host.logdir / f"bridge-{host.name}-{Bridge.count}.log"
        self.proc = None
        self.start()

    def start(self):
        self.logfile = open(self.log, "a")
        self.proc = self.host.spawn([BRIDGE, "--stats", "0.2", *self.args],
                                    stdout=self.logfile, stderr=subprocess.STDOUT)
        wait_for(f"{self.log.name} to start", lambda: "up, Zenoh id" in self.text()
                 or self.proc.poll() is not None)
        assert self.proc.poll() is None, self.text()

    def text(self) -> str:
        return self.log.read_text()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.logfile.close()

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=15)
        self.logfile.close()
        assert rc == 0, f"bridge exited {rc}:\n{self.text()}"
        assert "shutting down" in self.text()
        return self.stats()

    def stats(self) -> dict:
        lines = re.findall(r"^shmiface-bridge: stats (.*)$", self.text(), re.M)
        if not lines:
            return {}
        return {k: float(v) for k, v in (kv.split("=") for kv in lines[-1].split())}
