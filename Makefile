# shmiface — the one entry point for building, testing and demonstrating.
# `make demo` shows it working, `make test` runs every check CI runs.
# Each area adds its own targets from mk/*.mk; this file holds what they share.

SHELL       := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all

CARGO       ?= cargo
CC          ?= cc
CXX         ?= c++
PYTHON3     ?= python3
TARGET_DIR  := $(CURDIR)/target
LIBDIR      := $(TARGET_DIR)/release
LIBSO       := $(LIBDIR)/libshmiface.so
LIBSO1      := $(LIBDIR)/libshmiface.so.1
INCDIR      := $(CURDIR)/include
BUILDDIR    := $(CURDIR)/build
VENV        := $(CURDIR)/.venv
VPY         := $(VENV)/bin/python
# Everything that runs against the freshly built library finds it here.
export SHMIFACE_LIB := $(LIBSO)

# Areas append their test targets here; `make test` runs them in order.
TEST_TARGETS :=

.PHONY: all lib header check-header test demo bench clean

all: lib

# The release library, the CLI, and (made by build.rs, as for a plain
# `cargo build --release`) the SONAME link libshmiface.so.1 that -lshmiface
# programs load at run time.
lib:
	SHMIFACE_CHECK_HEADER=1 $(CARGO) build --release --locked

# Regenerate include/shmiface.h and include/shmiface_ffi.h from the Rust
# source (cbindgen, via build.rs).
header:
	SHMIFACE_UPDATE_HEADER=1 $(CARGO) build --release --locked

# The committed headers must be exactly what build.rs makes of the source.
check-header:
	SHMIFACE_CHECK_HEADER=1 $(CARGO) build --release --locked

# A virtual environment of the project's own, for everything Python.
$(VENV)/.ready: bindings/python/requirements-dev.txt
	$(PYTHON3) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

# The core's checks run first; then each area's, in name order.
include mk/core.mk
include $(filter-out mk/core.mk,$(sort $(wildcard mk/*.mk)))

test: $(TEST_TARGETS)
	@echo "make test: every suite passed"

clean:
	$(CARGO) clean
	rm -rf $(BUILDDIR) $(VENV)
