# The Python package (bindings/python): its pytest suite against the
# freshly built library (SHMIFACE_LIB, exported by the top Makefile),
# including cross-language tests with a C peer and a pip install of the
# package into a throwaway virtual environment.

PY_PEER := $(BUILDDIR)/python/peer

TEST_TARGETS += test-python

.PHONY: test-python

# No rpath: the tests run the peer with LD_LIBRARY_PATH set to the directory
# of the library Python loaded, so both sides use the same build.
$(PY_PEER): bindings/python/tests/peers/peer.c $(INCDIR)/shmiface.h | lib
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Wpedantic -Werror -g -I$(INCDIR) $< -L$(LIBDIR) -lshmiface -o $@

# pytest exits 5 when it collects no tests; that fails this target like any
# other failure, with a message saying so. timeout is only a hang guard.
test-python: lib $(VENV)/.ready $(PY_PEER)
	@cd bindings/python && status=0 && \
	  SHMIFACE_TEST_PEER=$(PY_PEER) PYTHONPATH=$(CURDIR)/bindings/python CARGO_TARGET_DIR=$(TARGET_DIR) \
	  timeout --kill-after=10 600 $(VPY) -m pytest -q -p no:cacheprovider tests || status=$$?; \
	  if [ $$status -eq 5 ]; then echo "test-python: FAILED: pytest collected no tests" >&2; fi; \
	  if [ $$status -ne 0 ]; then echo "test-python: FAILED (pytest exit $$status)" >&2; exit 1; fi
