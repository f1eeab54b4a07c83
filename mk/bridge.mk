# mk/bridge.mk — shmiface-bridge (bridge/): segments across machines over Zenoh.
#
#   make bridge        target/release/shmiface-bridge (its own workspace member,
#                      not a default one: `make lib` and `cargo build` never
#                      build zenoh); a cold build takes about 4.5 minutes on 2 cores
#   make test-bridge   its unit tests, then bridge/tests/test_bridge.py: two
#                      hosts as two mount namespaces with private /dev/shm,
#                      bridges over tcp/127.0.0.1 (a C producer, a Python
#                      consumer, the eclipse-zenoh package from PyPI, kills
#                      and restarts)
#   make bench-bridge  end-to-end latency and rate against bare Zenoh
#
# The tests need root (unshare -m, mount), as CI has.
#
# It builds in a target directory of its own: Zenoh's dependencies turn on
# features (serde in bitflags, more of syn) of crates the core shares, and
# in one directory every `make lib` after `make bridge` would rebuild the
# core and its build script, and the other way round. The binary is then
# copied to target/release beside `shmiface`, which looks for it there.

BRIDGE_TARGET := $(TARGET_DIR)/bridge
BRIDGE_CARGO  := --release --locked -p shmiface-bridge --target-dir $(BRIDGE_TARGET)
BRIDGE_BIN   := $(LIBDIR)/shmiface-bridge
BRIDGE_BUILD := $(BUILDDIR)/bridge
BRIDGE_PEER  := $(BRIDGE_BUILD)/peer
# CC and CXX always set: a build script under Zenoh (psm's, through the cc
# crate) reruns when they change, and make test-c-install runs `make
# install` with them in the environment; without them here every other
# build would rebuild half of Zenoh.
BRIDGE_ENV   := SHMIFACE_CHECK_HEADER=1 CC="$(CC)" CXX="$(CXX)"

TEST_TARGETS += test-bridge

.PHONY: bridge test-bridge bench-bridge

bridge: lib
	$(BRIDGE_ENV) $(CARGO) build $(BRIDGE_CARGO) --bin shmiface-bridge
	ln -f $(BRIDGE_TARGET)/release/shmiface-bridge $(BRIDGE_BIN)

$(BRIDGE_PEER): bridge/tests/peer.c $(INCDIR)/shmiface.h | lib
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Wpedantic -Werror -O2 -I$(INCDIR) $< \
		-L$(LIBDIR) -lshmiface -Wl,-rpath,$(LIBDIR) -o $@

$(VENV)/.bridge-ready: bridge/tests/requirements.txt $(VENV)/.ready
	$(VPY) -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

# pytest's exit 5 (no tests collected) fails this target like any other.
# timeout is only a hang guard.
test-bridge: bridge cli $(BRIDGE_PEER) $(VENV)/.bridge-ready
	$(BRIDGE_ENV) $(CARGO) test $(BRIDGE_CARGO)
	cd bridge/tests && SHMIFACE_BRIDGE=$(BRIDGE_BIN) SHMIFACE_BRIDGE_PEER=$(BRIDGE_PEER) \
		timeout --kill-after=10 600 $(VPY) -m pytest -q -p no:cacheprovider test_bridge.py

# The native ends (bridge/bench/peer.rs) by default; BENCH_BRIDGE_FLAGS=--python
# runs the same ends in Python (shmiface's binding, eclipse-zenoh) instead.
BENCH_BRIDGE_FLAGS ?=
bench-bridge: bridge $(VENV)/.bridge-ready
	$(BRIDGE_ENV) $(CARGO) build $(BRIDGE_CARGO) --bin shmiface-bridge-bench-peer
	SHMIFACE_BRIDGE=$(BRIDGE_BIN) SHMIFACE_BENCH_PEER=$(BRIDGE_TARGET)/release/shmiface-bridge-bench-peer \
		timeout --kill-after=10 900 $(VPY) bridge/bench/bench_bridge.py $(BENCH_BRIDGE_FLAGS)
