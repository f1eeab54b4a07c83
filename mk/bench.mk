# mk/bench.mk — the benchmarks (bench/, docs/benchmarks.md).
#
#   make bench        every benchmark against its baselines, then the table,
#                     $(BENCH_OUT)/results.json and $(BENCH_OUT)/bench-latency.png;
#                     a few minutes; run it on a quiet machine
#   make test-bench   (part of make test) each benchmark once with tiny sizes
#                     and the report in --quick mode, so none of them can rot;
#                     it judges no speed, but checks that the README-shaped
#                     table shows each median's spread across rounds, and
#                     that the report has every row of BENCH_ROWS
#
# The C programs link the release library with an rpath, as a user's
# program would; the Python ones run in the project's venv, with matplotlib,
# posix_ipc and iceoryx2 from bench/requirements.txt. Boost.Interprocess
# (Debian's libboost-dev, installed with apt-get when its headers are
# missing) is in two of them: bench_streams runs boost_mq_peer (C++), and
# bench_ops links boost_design.cpp, its Boost baseline, so that the
# baseline's rounds run in bench_ops's own loop.

BENCH_OUT    := $(BUILDDIR)/bench
BENCH_BIN    := $(BUILDDIR)/bench/bin
BENCH_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wpedantic -Werror -I$(INCDIR)
BENCH_CXXFLAGS := -std=c++17 -O2 -Wall -Wextra -Wpedantic -Werror
BENCH_LINK   := -L$(LIBDIR) -lshmiface -Wl,-rpath,$(LIBDIR) -lpthread
BENCH_C      := $(basename $(notdir $(wildcard bench/c/bench_*.c)))
BENCH_PY_ENV := PYTHONPATH=$(CURDIR)/bindings/python
BENCH_PY     := bench_python bench_python_streams
BOOST_IPC    := /usr/include/boost/interprocess

TEST_TARGETS += test-bench

.PHONY: bench-programs test-bench boost-headers

$(BENCH_BIN)/%: bench/c/%.c bench/c/bench.h $(INCDIR)/shmiface.h | lib
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) $< $(BENCH_LINK) -o $@

# Boost.Interprocess is header-only: the Debian package is all it takes.
boost-headers:
	@$(SHMC_ENSURE) $(BOOST_IPC):libboost-dev

$(BENCH_BIN)/boost_mq_peer: bench/c/boost_mq_peer.cpp | boost-headers
	@mkdir -p $(@D)
	$(CXX) $(BENCH_CXXFLAGS) $< -o $@ -pthread -lrt

# bench_ops: C, with its C++ baseline linked in (an explicit rule, which
# make prefers to the pattern rule above).
$(BENCH_OUT)/obj/boost_design.o: bench/c/boost_design.cpp bench/c/boost_design.h | boost-headers
	@mkdir -p $(@D)
	$(CXX) $(BENCH_CXXFLAGS) -c $< -o $@

$(BENCH_BIN)/bench_ops: bench/c/bench_ops.c bench/c/bench.h bench/c/boost_design.h \
		$(BENCH_OUT)/obj/boost_design.o $(INCDIR)/shmiface.h | lib
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) $< $(BENCH_OUT)/obj/boost_design.o $(BENCH_LINK) -lstdc++ -lrt -o $@

$(BENCH_BIN)/bench_streams: $(BENCH_BIN)/boost_mq_peer

$(VENV)/.bench-ready: bench/requirements.txt $(VENV)/.ready
	$(VPY) -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

bench-programs: lib $(addprefix $(BENCH_BIN)/,$(BENCH_C) boost_mq_peer) $(VENV)/.bench-ready

# $1: raw/ or quick-raw/ ; $2: empty or --quick
define bench_run
	@mkdir -p $(BENCH_OUT)/$1
	@for b in $(BENCH_C); do echo "== $$b $2"; $(BENCH_BIN)/$$b $(BENCH_OUT)/$1/$$b.json $2; done
	@for p in $(BENCH_PY); do echo "== $$p $2"; \
		$(BENCH_PY_ENV) $(VPY) bench/python/$$p.py $(BENCH_OUT)/$1/$$p.json $2; done
	$(VPY) bench/report.py $(BENCH_OUT)/$(if $2,quick,.) $(BENCH_OUT)/$1/*.json $2 | tee $(BENCH_OUT)/$1/report.txt
endef

bench: bench-programs
	$(call bench_run,raw,)

# Rows the quick report must print, one extended regex a line: figures,
# rows of the target table (all of them, with their ratios, unjudged) and
# rows of the README-shaped table.
define BENCH_ROWS
^C get 128 B, shmiface +[0-9.,]+ ns/op
^C set 128 B, Boost interprocess_mutex \+ char\[128\] in POSIX shm +[0-9.,]+ ns/op
^C get 128 B, Boost interprocess_mutex \+ char\[128\] in POSIX shm +[0-9.,]+ ns/op
^C set 128 B vs Boost interprocess_mutex \+ char\[128\] +[0-9.,]+× +context$$
^C get 128 B vs Boost interprocess_mutex \+ char\[128\] +[0-9.,]+× +context$$
^C get 128 B vs pthread mutex \+ memcpy +[0-9.,]+× +<= [0-9.]+ +not judged$$
^Idle waiter CPU, % of a core +[0-9.,]+ +< 1\.0 +not judged$$
^C call floor \(get 0 B\), ns +[0-9.,]+ +context$$
^C round trip, shmiface under two CPU hogs, median +[0-9.,]+ (ns|µs)
^C round trip, shmiface under two CPU hogs, p99 +[0-9.,]+ (ns|µs)
^C round trip under two CPU hogs: median vs quiet \(same run\) +[0-9.,]+× +context$$
^C round trip under two CPU hogs: p99 vs quiet \(same run\) +[0-9.,]+× +context$$
^\| C get 128 B vs pthread mutex \+ memcpy \| .*\| <= 0\.7 \|$$
^Python round trip median, ns +[0-9.,]+ +<= 3000 +not judged$$
^Python round trip median vs C round trip median +[0-9.,]+× +<= 6\.0 +not judged$$
^Python round trip p99, ns +[0-9.,]+ +<= 20000 +not judged$$
^\| Python round trip median, ns \| [0-9.,]+ (ns|µs) .*\| <= 3,000 ns \|$$
^\| Python round trip median vs C round trip median \| .* \(C round trip, shmiface\) \| [0-9.]+× \| <= 6\.0 \|$$
^\| Python round trip p99, ns \| [0-9.,]+ (ns|µs) .*\| <= 20\.0 µs \|$$
endef
export BENCH_ROWS

# The README's table must come out with the spread of the rounds beside
# each median that has more than one round: "19.6 ns (19.1–20.0 ns)"; and
# the report must have each row of BENCH_ROWS.
test-bench: bench-programs
	$(call bench_run,quick-raw,--quick)
	grep -qE '^\| C get 128 B .*\| [0-9.,]+ ns \([0-9.,]+–[0-9.,]+ ns\) \|' $(BENCH_OUT)/quick-raw/report.txt || \
		{ echo "test-bench: the README table lacks the spread of the rounds" >&2; exit 1; }
	@while IFS= read -r row; do grep -qE -- "$$row" $(BENCH_OUT)/quick-raw/report.txt || \
		{ echo "test-bench: the report has no row matching: $$row" >&2; exit 1; }; done <<< "$$BENCH_ROWS"
	@echo "test-bench: the report has every row it must have"
