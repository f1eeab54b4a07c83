# mk/ffi.mk — any FFI: include/shmiface_ffi.h, the declarations with no
# preprocessor line that build.rs derives from include/shmiface.h, used as
# they are by three FFIs against a C peer (bindings/ffi/README.md).
#
#   make test-ffi          the codegen crate's tests, then one round each:
#                          Python cffi (ffi.cdef), LuaJIT (ffi.cdef) and Node
#                          with koffi (lib.func on each prototype)
#
# What it installs when missing: luajit, nodejs and npm with apt-get (as
# root, or through sudo; bindings/c/ensure-tools.sh), and koffi, at the
# version pinned in bindings/ffi/node/package-lock.json, with `npm ci` into
# build/ffi/node (nothing global).

FFI_DIR   := bindings/ffi
FFI_BUILD := $(BUILDDIR)/ffi
FFI_PEER  := $(FFI_BUILD)/peer
FFI_NODE  := $(FFI_BUILD)/node
FFI_ROUND := $(FFI_DIR)/run_round.sh $(FFI_PEER)

TEST_TARGETS += test-ffi

.PHONY: test-ffi test-codegen test-ffi-cffi test-ffi-luajit test-ffi-node

# No rpath: run_round.sh points LD_LIBRARY_PATH at the library under test.
$(FFI_PEER): $(FFI_DIR)/peer.c $(INCDIR)/shmiface.h | lib
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Wpedantic -Werror -g -I$(INCDIR) $< -L$(LIBDIR) -lshmiface -o $@

# The package files are copied beside the install, so that npm writes
# nothing into the source tree; --ignore-scripts: koffi's prebuilt binary
# comes in a package of its own, and no install script needs to run.
$(FFI_NODE)/.ready: $(FFI_DIR)/node/package.json $(FFI_DIR)/node/package-lock.json
	$(SHMC_ENSURE) node:nodejs npm
	@mkdir -p $(FFI_NODE)
	cp $^ $(FFI_NODE)/
	cd $(FFI_NODE) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

test-codegen:
	$(CARGO) test --release --locked -p shmiface-codegen

test-ffi-cffi: $(FFI_PEER) $(VENV)/.ready lib
	$(FFI_ROUND) cffi $(VPY) $(FFI_DIR)/python/round.py

test-ffi-luajit: $(FFI_PEER) lib
	$(SHMC_ENSURE) luajit
	$(FFI_ROUND) luajit luajit $(FFI_DIR)/luajit/round.lua

test-ffi-node: $(FFI_PEER) $(FFI_NODE)/.ready lib
	NODE_PATH=$(FFI_NODE)/node_modules $(FFI_ROUND) node node $(FFI_DIR)/node/round.cjs

test-ffi: test-codegen test-ffi-cffi test-ffi-luajit test-ffi-node
