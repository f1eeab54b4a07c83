"""Builds the Rust library with cargo and ships it, with its header, inside
the package, so ``import shmiface`` works from the wheel with nothing else
installed. Everything else is in pyproject.toml.

The package is built from a checkout: the repository root is two levels up.
``CARGO_TARGET_DIR`` is honoured, so a library already built there is
reused rather than rebuilt. setuptools' own scratch files go under the
cargo target directory too, never into the source tree.
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

REPO = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
SCRATCH = TARGET / "python-build"


class BuildWithLibrary(build_py):
    """Copies the Python files, then builds libshmiface and adds it and shmiface.h."""

    def run(self) -> None:
        super().run()
        subprocess.check_call(
            ["cargo", "build", "--release", "--locked", "-p", "shmiface", "--lib"],
            cwd=REPO,
            # The wheel ships include/shmiface.h beside the library and the
            # cdef comes from it: refuse to build if it is stale (as `make lib`).
            env=dict(os.environ, CARGO_TARGET_DIR=str(TARGET), SHMIFACE_CHECK_HEADER="1"),
        )
        package = Path(self.build_lib) / "shmiface"
        shutil.copyfile(TARGET / "release" / "libshmiface.so", package / "libshmiface.so.1")
        shutil.copyfile(REPO / "include" / "shmiface.h", package / "shmiface.h")


class PlatformWheel(bdist_wheel):
    """The wheel carries a native library, so it is tied to the platform,
    but not to a Python version or ABI: cffi's ABI mode compiles nothing."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):  # type: ignore[no-untyped-def]
        return ("py3", "none", super().get_tag()[2])


SCRATCH.mkdir(parents=True, exist_ok=True)
setup(
    cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel},
    options={
        "build": {"build_base": str(SCRATCH / "build")},
        "egg_info": {"egg_base": str(SCRATCH)},
    },
)
