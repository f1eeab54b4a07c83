"""The package itself: the cdef comes from the header, the library is found
where docs/python-api.md says, and a pip-installed wheel works with no environment
variable."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

from cffi import FFI

import shmiface
from shmiface._cdef import cdef_from_header
from shmiface._lib import ffi, lib

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent
REPO = HERE.parents[2]
HEADER = (REPO / "include" / "shmiface.h").read_text()


def _declared_functions(header: str) -> set:
    return set(re.findall(r"\b(shmiface_\w+)\s*\(", re.sub(r"/\*.*?\*/|//[^\n]*", "", header, flags=re.S)))


def test_cdef_keeps_declarations_and_drops_the_preprocessor() -> None:
    cdef = cdef_from_header(HEADER)
    assert "#include" not in cdef and "#ifdef" not in cdef and "#endif" not in cdef
    assert 'extern "C"' not in cdef and "/*" not in cdef and "//" not in cdef
    assert "#define SHMIFACE_ERR_PANIC 16" in cdef
    assert "#define SHMIFACE_H" not in cdef  # the include guard has no value
    FFI().cdef(cdef)  # cffi accepts it as it is


def test_every_function_and_constant_of_the_header_is_reachable() -> None:
    functions = _declared_functions(HEADER)
    assert {"shmiface_init_instance", "shmiface_wait", "shmiface_last_error"} <= functions
    for fn in functions:
        assert callable(getattr(lib, fn)), fn
    for constant, value in re.findall(r"#define (SHMIFACE_\w+) (\d+)\s*$", HEADER, flags=re.M):
        assert getattr(lib, constant) == int(value), constant


def test_cdef_picks_up_a_new_function_and_other_header_shapes() -> None:
    extra = "\n".join([
        "/** A function added later, with a doc comment. */",
        "uint32_t shmiface_future(const struct shmiface_segment *seg,",
        "                         uint64_t  // trailing comment",
        "                         budget);",
        "#define SHMIFACE_HEX 0x10u",
        "#define SHMIFACE_PAREN (7)",
        "#define SHMIFACE_EXPR (1 << 3)",
        "#pragma once",
        "#if defined(__cplusplus)",
        "namespace nope {}",
        "#else",
        "typedef int shmiface_c_only;",
        "#endif",
        "#ifndef __cplusplus",
        "typedef int shmiface_also_c;",
        "#else",
        "class nope;",
        "#endif",
        "#define SHMIFACE_MULTI(a, b) \\",
        "    ((a) + (b))",
    ])
    extended = HEADER.replace("#ifdef __cplusplus\n}", extra + "\n\n#ifdef __cplusplus\n}")
    assert extended != HEADER, "the header's closing C++ guard moved; update this test"
    cdef = cdef_from_header(extended)
    assert "nope" not in cdef and "#pragma" not in cdef and "SHMIFACE_MULTI" not in cdef
    assert "SHMIFACE_EXPR" not in cdef  # not an integer literal: left out
    other = FFI()
    other.cdef(cdef)
    assert other.typeof("shmiface_c_only") is other.typeof("int")
    assert other.typeof("shmiface_also_c") is other.typeof("int")
    assert re.search(r"uint32_t shmiface_future\(const struct shmiface_segment \*seg,\s+uint64_t\s+budget\);", cdef)
    lib_like = other.dlopen(shmiface.library_path)
    assert lib_like.SHMIFACE_HEX == 16 and lib_like.SHMIFACE_PAREN == 7


def test_cdef_drops_a_declaration_repeated_word_for_word() -> None:
    again = re.search(r"^shmiface_status shmiface_notify\([^;]*\);\n", HEADER, re.M).group(0)
    extended = HEADER.replace("#ifdef __cplusplus\n}", again + again.replace(" *", "  *") + "\n#ifdef __cplusplus\n}")
    assert extended != HEADER, "the header's closing C++ guard moved; update this test"
    cdef = cdef_from_header(extended)
    assert len(re.findall(r"\bshmiface_notify\(", cdef)) == 1
    FFI().cdef(cdef)


def test_the_library_is_loaded_with_the_abi_this_package_speaks() -> None:
    assert lib.shmiface_abi_version() == shmiface.ABI_VERSION == 1
    assert ffi.string(lib.shmiface_status_str(999))  # never NULL, even for unknown codes


def test_shmiface_lib_wins(tmp_path: Path) -> None:
    target = os.path.realpath(shmiface.library_path)
    out = subprocess.run(
        [sys.executable, "-c", "import shmiface; print(shmiface.library_path)"],
        env=dict(os.environ, SHMIFACE_LIB=target, PYTHONPATH=str(PACKAGE)),
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == target


def test_import_error_names_every_place_looked(tmp_path: Path) -> None:
    env = dict(os.environ, SHMIFACE_LIB=str(tmp_path / "missing.so"), LD_LIBRARY_PATH=str(tmp_path),
               PYTHONPATH=str(PACKAGE))
    out = subprocess.run([sys.executable, "-c", "import shmiface"], env=env, capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)
    if out.returncode == 0:
        # A system-wide install answered from the search path; nothing to prove here.
        return
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: shmiface: could not load libshmiface")
    places = [str(tmp_path / "missing.so"), str(PACKAGE / "shmiface" / "_native" / "lib_native.so"),
              "libshmiface.so.1 (", "libshmiface.so ("]
    positions = [last.find(p) for p in places]
    assert -1 not in positions and positions == sorted(positions), last


def test_import_error_when_shmiface_lib_is_unset(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SHMIFACE_LIB"}
    env.update(LD_LIBRARY_PATH=str(tmp_path), PYTHONPATH=str(PACKAGE))
    out = subprocess.run([sys.executable, "-c", "import shmiface"], env=env, capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)
    if out.returncode == 0:
        return  # installed system-wide
    assert "$SHMIFACE_LIB (unset)" in out.stderr


def test_pip_install_ships_the_library(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # Neither the library's path nor the checkout's package may leak in;
    # cargo reuses the library already built in the repository's target dir.
    env = {k: v for k, v in os.environ.items() if k not in ("SHMIFACE_LIB", "PYTHONPATH", "LD_LIBRARY_PATH")}
    env["CARGO_TARGET_DIR"] = os.environ.get("CARGO_TARGET_DIR", str(REPO / "target"))
    before = sorted(p.relative_to(PACKAGE) for p in PACKAGE.rglob("*") if "__pycache__" not in p.parts)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(PACKAGE)],
        check=True, env=env, cwd=tmp_path, timeout=900,
    )
    after = sorted(p.relative_to(PACKAGE) for p in PACKAGE.rglob("*") if "__pycache__" not in p.parts)
    assert after == before, "pip install left files in the source tree"
    name = f"py-wheel-{os.getpid()}"
    script = (
        "import os, shmiface\n"
        "assert 'SHMIFACE_LIB' not in os.environ\n"
        "here = os.path.dirname(shmiface.__file__)\n"
        "assert 'site-packages' in here, here\n"
        "assert shmiface.library_path == os.path.join(here, '_native', 'lib_native.so'), shmiface.library_path\n"
        "assert os.path.exists(os.path.join(here, 'py.typed'))\n"
        f"s = shmiface.init_instance({name!r})\n"
        "s.set_string('from the wheel'); assert s.get_string() == 'from the wheel'\n"
        "s.destroy(); print('ok')\n"
    )
    out = subprocess.run([str(python), "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    assert not os.path.exists(f"/dev/shm/{name}")
