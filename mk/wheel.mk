# mk/wheel.mk — the Python wheel, for users without Rust.
#
#   make wheel        build/wheel/shmiface-VERSION-py3-none-manylinux_*.whl,
#                     built by maturin (cffi mode: bindings/python/pyproject.toml)
#   make test-wheel   (part of make test) `auditwheel show` accepts the wheel
#                     for the platform tag in its name; it installs into a
#                     fresh venv and passes bindings/python/wheel_smoke.py
#                     there, with no cargo or rustc on PATH and SHMIFACE_LIB
#                     unset, against a C peer
#
# maturin and auditwheel come from PyPI into the project's .venv
# (requirements-dev.txt); the test venv gets only the wheel and its one
# dependency, cffi.

WHEEL_OUT  := $(BUILDDIR)/wheel
WHEEL_VENV := $(WHEEL_OUT)/venv
# Only the system's directories: neither ~/.cargo/bin nor the project's venv.
WHEEL_PATH := $(WHEEL_VENV)/bin:/usr/local/bin:/usr/bin:/bin

TEST_TARGETS += test-wheel

.PHONY: wheel test-wheel

# The header maturin reads is put in place here too, not only by build.rs,
# so that a target dir whose build script ran before it existed still works.
wheel: $(VENV)/.ready lib
	rm -rf $(WHEEL_OUT)/dist
	cp $(INCDIR)/shmiface_ffi.h $(TARGET_DIR)/header.h
	cd bindings/python && SHMIFACE_CHECK_HEADER=1 CARGO_TARGET_DIR=$(TARGET_DIR) \
		$(VENV)/bin/maturin build --release --quiet --out $(WHEEL_OUT)/dist
	@ls $(WHEEL_OUT)/dist/*.whl

test-wheel: wheel $(PY_PEER)
	PYTHON3=$(PYTHON3) VPY=$(VPY) WHEEL_VENV=$(WHEEL_VENV) WHEEL_PATH="$(WHEEL_PATH)" PEER=$(PY_PEER) \
		timeout --kill-after=10 300 bash bindings/python/tests/test_wheel.sh $(WHEEL_OUT)/dist/*.whl
