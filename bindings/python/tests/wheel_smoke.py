"""The smoke test of an installed wheel (run by test_wheel.sh, in a fresh
venv): the package must load its own library and its own declarations, with
no Rust toolchain and no hint from the environment, and talk to a C process.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

assert "SHMIFACE_LIB" not in os.environ, "the wheel must need no SHMIFACE_LIB"
assert shutil.which("cargo") is None and shutil.which("rustc") is None, os.environ["PATH"]

import shmiface  # noqa: E402  (after the checks on the environment)

loader = sys.modules["shmiface._lib"]  # the module (shmiface._lib is also the cffi lib's name there)

here = Path(shmiface.__file__).resolve().parent
assert "site-packages" in here.parts, here
assert shmiface.library_path == str(here / "_native" / "lib_native.so"), shmiface.library_path
assert (here / "_native" / "ffi.py").is_file() and not loader._HEADER.is_file(), "declarations from the wheel"
assert shmiface.ABI_VERSION == 1 and shmiface.library_version() == "0.1.0"

name = f"wheel-smoke-{os.getpid()}"
with shmiface.init_instance(name, capacity=256) as seg:
    # The C peer answers each notified value v with "c:v".
    env = dict(os.environ, LD_LIBRARY_PATH=os.environ["PEER_LIBDIR"])
    peer = subprocess.Popen([os.environ["PEER"], "attach", name], stdout=subprocess.PIPE, text=True, env=env)
    assert peer.stdout is not None and peer.stdout.readline() == "ready\n"
    seg.set_string_notify("from the wheel")
    while seg.get_string() != "c:from the wheel":
        assert seg.wait(timeout=30), "the C peer did not answer"  # a hang guard
    seg.set_string_notify("quit")
    assert peer.wait(timeout=30) == 0
assert not os.path.exists(f"/dev/shm/{name}")
print("ok   the installed wheel loads its own library and talks to a C process")
sys.exit(0)
