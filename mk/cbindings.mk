# mk/cbindings.mk — C and C++: the dlopen loader, the C++ wrapper, the demo
# programs, and their tests. Everything builds into $(BUILDDIR)/c with
# -Wall -Wextra -Wpedantic -Werror (C11, C++17).
#
#   make c-examples    owner (C++), writer (C), producer (C) and late_joiner (C++) in build/c/
#   make test-c        every C/C++ test below, in order

SHMC_DIR      := bindings/c
SHMC_BUILD    := $(BUILDDIR)/c
SHMC_WARN     := -Wall -Wextra -Wpedantic -Werror
SHMC_CFLAGS   := -std=c11 $(SHMC_WARN) -O2 -g -I$(INCDIR) -I$(CURDIR)/$(SHMC_DIR)
SHMC_CXXFLAGS := -std=c++17 $(SHMC_WARN) -O2 -g -I$(INCDIR) -I$(CURDIR)/$(SHMC_DIR)
# Programs linked against the library in target/release find it through their rpath.
SHMC_LINK     := -L$(LIBDIR) -lshmiface -Wl,-rpath,$(LIBDIR) -pthread
# A hang guard for each test program, never a timing assertion.
SHMC_TIMEOUT  := timeout --kill-after=10 120
SHMC_ENSURE   := $(SHMC_DIR)/ensure-tools.sh
SHMC_NO_STRAY := bash $(SHMC_DIR)/tests/no_stray_output.sh

SHMC_OWNER    := $(SHMC_BUILD)/owner
SHMC_WRITER   := $(SHMC_BUILD)/writer
SHMC_PRODUCER := $(SHMC_BUILD)/producer
SHMC_LATE     := $(SHMC_BUILD)/late_joiner
# Every program the demo runs, and how demo.sh and test_demo.sh find them.
SHMC_DEMO_PROGRAMS := $(SHMC_OWNER) $(SHMC_WRITER) $(SHMC_PRODUCER) $(SHMC_LATE)
SHMC_DEMO_ENV = OWNER=$(SHMC_OWNER) WRITER=$(SHMC_WRITER) PRODUCER=$(SHMC_PRODUCER) \
	LATE_JOINER=$(SHMC_LATE) PYTHON=$(VPY) PYWRITER=$(SHMC_PYWRITER) \
	PYTHONPATH=$(CURDIR)/bindings/python
SHMC_PYWRITER := bindings/python/examples/writer.py

.PHONY: c-examples test-c test-c-loader test-c-cpp test-c-cpp-streams test-c-ctypes test-c-install test-c-demo

c-examples: $(SHMC_DEMO_PROGRAMS)

$(SHMC_BUILD):
	mkdir -p $@

# `| lib` builds the library first (cargo decides whether anything changed)
# without forcing a relink of every program each time.
$(SHMC_OWNER): $(SHMC_DIR)/examples/owner.cpp $(SHMC_DIR)/shmiface.hpp $(INCDIR)/shmiface.h | lib $(SHMC_BUILD)
	$(CXX) $(SHMC_CXXFLAGS) $< -o $@ $(SHMC_LINK)

$(SHMC_WRITER) $(SHMC_PRODUCER): $(SHMC_BUILD)/%: $(SHMC_DIR)/examples/%.c $(INCDIR)/shmiface.h | lib $(SHMC_BUILD)
	$(CC) $(SHMC_CFLAGS) $< -o $@ $(SHMC_LINK)

$(SHMC_LATE): $(SHMC_DIR)/examples/late_joiner.cpp $(SHMC_DIR)/shmiface.hpp $(INCDIR)/shmiface.h | lib $(SHMC_BUILD)
	$(CXX) $(SHMC_CXXFLAGS) $< -o $@ $(SHMC_LINK)

# Uses the library only through the loader: no -lshmiface here.
$(SHMC_BUILD)/test_dl: $(SHMC_DIR)/tests/test_dl.c $(SHMC_DIR)/shmiface_dl.c $(SHMC_DIR)/shmiface_dl.h \
		$(SHMC_DIR)/tests/check.h $(INCDIR)/shmiface.h | $(SHMC_BUILD)
	$(CC) $(SHMC_CFLAGS) $(SHMC_DIR)/tests/test_dl.c $(SHMC_DIR)/shmiface_dl.c -o $@ -pthread -ldl

# A fixture exporting every ABI symbol with the wrong ABI version.
$(SHMC_BUILD)/libstub_abi.so: $(SHMC_DIR)/tests/stub_abi.c $(SHMC_DIR)/shmiface_dl.h $(INCDIR)/shmiface.h | $(SHMC_BUILD)
	$(CC) $(SHMC_CFLAGS) -Wno-unused-parameter -fPIC -shared $< -o $@

$(SHMC_BUILD)/test_hpp $(SHMC_BUILD)/test_hpp_streams: $(SHMC_BUILD)/%: $(SHMC_DIR)/tests/%.cpp \
		$(SHMC_DIR)/shmiface.hpp $(SHMC_DIR)/tests/check.h $(INCDIR)/shmiface.h | lib $(SHMC_BUILD)
	$(CXX) $(SHMC_CXXFLAGS) $< -o $@ $(SHMC_LINK)

# (2) The dlopen loader: a program with no link-time dependency on libshmiface
# loads it by path and by the default search, and refuses a missing file, a
# library without the symbols, and a library of another ABI version.
test-c-loader: $(SHMC_BUILD)/test_dl $(SHMC_BUILD)/libstub_abi.so lib
	@if readelf -d $(SHMC_BUILD)/test_dl | grep -q 'libshmiface'; then \
		echo "test_dl must not be linked against libshmiface" >&2; exit 1; fi
	$(SHMC_TIMEOUT) $(SHMC_BUILD)/test_dl $(LIBSO)
	LD_LIBRARY_PATH=$(LIBDIR) $(SHMC_TIMEOUT) $(SHMC_BUILD)/test_dl
	$(SHMC_TIMEOUT) $(SHMC_BUILD)/test_dl --expect-fail $(SHMC_BUILD)/libstub_abi.so "speaks ABI version 0"
	$(SHMC_TIMEOUT) $(SHMC_BUILD)/test_dl --expect-fail libm.so.6 "no symbol shmiface_init_instance"
	$(SHMC_TIMEOUT) $(SHMC_BUILD)/test_dl --expect-fail $(SHMC_BUILD)/no-such-lib.so "no-such-lib.so"

# (3) The C++ wrapper: RAII, moves, exceptions carrying the status.
test-c-cpp: $(SHMC_BUILD)/test_hpp
	$(SHMC_TIMEOUT) $<

# (3b) The C++ wrapper's streams: history, next and its losses, values(),
# RAII loans and borrows, a producer and a consumer in forked processes.
test-c-cpp-streams: $(SHMC_BUILD)/test_hpp_streams
	$(SHMC_TIMEOUT) $<

# (4) Python ctypes from the ABI alone (the system python3: no cffi, no venv).
test-c-ctypes: lib
	$(SHMC_TIMEOUT) $(PYTHON3) $(SHMC_DIR)/examples/ctypes_example.py

# (1) make install into a temporary prefix; a C program built with pkg-config
# alone and a C++ program built with CMake find_package run against it;
# static links with `pkg-config shmiface-static` and with `cc -static` and
# `pkg-config --static shmiface`; make uninstall leaves nothing.
# Its output is checked too: a line starting [ or { is some command's JSON
# leaking out of a check (`shmiface ls --json` once printed a stray `[]`
# into make test's output this way).
test-c-install: lib bridge
	$(SHMC_ENSURE) pkg-config cmake
	MAKE="$(MAKE)" CC="$(CC)" CXX="$(CXX)" $(SHMC_TIMEOUT) bash $(SHMC_DIR)/tests/test_install.sh \
		| $(SHMC_NO_STRAY) test-c-install

# (5) The demo's pieces, scripted: appended "..." for the C and the Python
# writer, no lost last update, SIGTERM shutdown, takeover after kill -9;
# the stream's readers account for every value (read + lost = sent).
test-c-demo: $(SHMC_DEMO_PROGRAMS) $(VENV)/.ready
	$(SHMC_DEMO_ENV) $(SHMC_TIMEOUT) bash $(SHMC_DIR)/tests/test_demo.sh

SHMC_TESTS := test-c-loader test-c-cpp test-c-cpp-streams test-c-ctypes test-c-install test-c-demo
test-c: $(SHMC_TESTS)
TEST_TARGETS += $(SHMC_TESTS)
