"""The package itself: the cdef comes from the header, and the wheel works
with no environment variable."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import shmiface
from shmiface._cdef import cdef_from_header

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def test_cdef_keeps_declarations_and_drops_the_preprocessor() -> None:
    cdef = cdef_from_header((REPO / "include" / "shmiface.h").read_text())
    assert "#include" not in cdef and "#ifdef" not in cdef and 'extern "C"' not in cdef
    assert "/*" not in cdef and "//" not in cdef
    assert "#define SHMIFACE_ERR_PANIC 16" in cdef
    assert "shmiface_status shmiface_wait(" in " ".join(cdef.split()).replace("( ", "(")
    # Every function of the header is reachable from Python.
    for fn in ("shmiface_get_bytes", "shmiface_compare_and_set", "shmiface_set_spin_ns"):
        assert hasattr(shmiface._lib, fn)


def test_cdef_handles_a_new_function() -> None:
    header = (REPO / "include" / "shmiface.h").read_text()
    extended = header.replace(
        "#ifdef __cplusplus\n}", "/** new */\nuint32_t shmiface_future(void);\n\n#ifdef __cplusplus\n}"
    )
    assert "uint32_t shmiface_future(void);" in cdef_from_header(extended)


def test_pip_install_ships_the_library(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # Neither the library's path nor the checkout's package may leak in.
    env = {k: v for k, v in os.environ.items() if k not in ("SHMIFACE_LIB", "PYTHONPATH")}
    env["CARGO_TARGET_DIR"] = str(REPO / "target")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPO / "bindings" / "python")],
        check=True,
        env=env,
        cwd=tmp_path,
    )
    script = (
        "import shmiface, os\n"
        "assert 'SHMIFACE_LIB' not in os.environ\n"
        "assert shmiface.library_path.startswith(os.path.dirname(shmiface.__file__)), shmiface.library_path\n"
        f"s = shmiface.init_instance('py-wheel-{os.getpid()}')\n"
        "s.set_string('from the wheel'); assert s.get_string() == 'from the wheel'\n"
        "s.destroy(); print('ok')\n"
    )
    out = subprocess.run([str(python), "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_import_error_names_every_place_looked(tmp_path: Path) -> None:
    env = dict(os.environ, SHMIFACE_LIB=str(tmp_path / "missing.so"), LD_LIBRARY_PATH=str(tmp_path))
    code = "import shmiface"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    if out.returncode == 0:
        # A system-wide install answered from the search path; nothing to prove here.
        return
    assert "ImportError" in out.stderr
    assert "missing.so" in out.stderr and "libshmiface.so.1" in out.stderr
