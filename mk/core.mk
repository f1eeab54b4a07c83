# The core library's checks: header freshness, lint, Rust tests (unit and
# multi-process), and the C suite three times: plain, under ASan+UBSan, and
# under valgrind memcheck.

C_STRICT   := -std=c11 -Wall -Wextra -Wpedantic -Werror -g -I$(INCDIR) -Itests/c
C_LINK     := -L$(LIBDIR) -lshmiface -lpthread
C_SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
C_TESTS    := $(basename $(notdir $(wildcard tests/c/test_*.c)))
C_RUN_ENV  := LD_LIBRARY_PATH=$(LIBDIR)

TEST_TARGETS += check-header lint test-rust test-capi test-capi-sanitize test-capi-valgrind

.PHONY: lint test-rust test-capi test-capi-sanitize test-capi-valgrind ensure-valgrind

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

test-rust: lib
	$(CARGO) test --release --locked -p shmiface

$(BUILDDIR)/c/plain/%: tests/c/%.c tests/c/harness.h $(INCDIR)/shmiface.h | lib
	@mkdir -p $(@D)
	$(CC) $(C_STRICT) -O1 $< $(C_LINK) -o $@

$(BUILDDIR)/c/sanitize/%: tests/c/%.c tests/c/harness.h $(INCDIR)/shmiface.h | lib
	@mkdir -p $(@D)
	$(CC) $(C_STRICT) -O1 $(C_SANITIZE) $< $(C_LINK) -o $@

test-capi: $(addprefix $(BUILDDIR)/c/plain/,$(C_TESTS))
	for t in $^; do echo "== $$t"; $(C_RUN_ENV) $$t; done

test-capi-sanitize: $(addprefix $(BUILDDIR)/c/sanitize/,$(C_TESTS))
	for t in $^; do echo "== $$t (ASan+UBSan)"; \
	  $(C_RUN_ENV) ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $$t; done

ensure-valgrind:
	@$(SHMC_ENSURE) valgrind

test-capi-valgrind: ensure-valgrind $(addprefix $(BUILDDIR)/c/plain/,$(C_TESTS))
	for t in $(addprefix $(BUILDDIR)/c/plain/,$(C_TESTS)); do echo "== $$t (valgrind)"; \
	  $(C_RUN_ENV) valgrind --quiet --error-exitcode=1 --leak-check=full \
	    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --child-silent-after-fork=yes $$t; done
