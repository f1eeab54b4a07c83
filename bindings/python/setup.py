"""Builds the Rust library with cargo and ships it, with its header, inside
the package, so ``import shmiface`` works from the wheel with nothing else
installed. Everything else is in pyproject.toml."""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

REPO = Path(__file__).resolve().parents[2]


class BuildWithLibrary(build_py):
    def run(self) -> None:
        super().run()
        subprocess.check_call(
            ["cargo", "build", "--release", "--locked", "-p", "shmiface", "--lib"], cwd=REPO
        )
        target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
        package = Path(self.build_lib) / "shmiface"
        shutil.copyfile(target / "release" / "libshmiface.so", package / "libshmiface.so.1")
        shutil.copyfile(REPO / "include" / "shmiface.h", package / "shmiface.h")


class BinaryDistribution(Distribution):
    """The wheel carries a native library, so it is tagged for the platform."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
