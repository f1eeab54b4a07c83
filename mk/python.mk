# The Python package (bindings/python): its pytest suite against the
# freshly built library, including cross-language tests with a C peer and
# a pip install of the package into a throwaway virtual environment.

PY_PEER := $(BUILDDIR)/python/peer

TEST_TARGETS += test-python

.PHONY: test-python

$(PY_PEER): bindings/python/tests/peers/peer.c $(INCDIR)/shmiface.h | lib
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Wpedantic -Werror -g -I$(INCDIR) $< -L$(LIBDIR) -lshmiface -Wl,-rpath,$(LIBDIR) -o $@

# pytest's exit 5 (no tests collected) fails this target like any other.
test-python: lib $(VENV)/.ready $(PY_PEER)
	cd bindings/python && SHMIFACE_TEST_PEER=$(PY_PEER) PYTHONPATH=$(CURDIR)/bindings/python \
	  timeout --kill-after=10 600 $(VPY) -m pytest -q -p no:cacheprovider tests
