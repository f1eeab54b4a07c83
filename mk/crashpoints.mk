# mk/crashpoints.mk — the crash-point suite (tests/crash_points.rs).
#
#   make test-crash-points  builds the library's test variant once
#                           (--features failpoints, in its own target
#                           directory so the release library stays as it
#                           is), runs the points' own unit tests and every
#                           crash-point scenario against it
#                           with real processes, and checks that the
#                           release library carries no trace of the points.

FP_TARGET := $(TARGET_DIR)/failpoints
FP_LIB    := $(FP_TARGET)/release/libshmiface.so

TEST_TARGETS += test-crash-points

.PHONY: test-crash-points check-failpoints-absent

test-crash-points: lib check-failpoints-absent
	$(CARGO) clippy --locked -p shmiface --all-targets --features failpoints \
		--target-dir $(FP_TARGET) -- -D warnings
	SHMIFACE_CHECK_HEADER=1 timeout --kill-after=10 900 $(CARGO) test --release --locked \
		--features failpoints --target-dir $(FP_TARGET) -p shmiface --lib --test crash_points --test crash_points_streams \
		-- --test-threads=2

# Zero cost when off: the release library exports exactly the symbols of
# the test variant, and holds none of the points' names.
check-failpoints-absent: lib
	SHMIFACE_CHECK_HEADER=1 $(CARGO) build --release --locked --features failpoints \
		--target-dir $(FP_TARGET) -p shmiface
	diff <(nm -D --defined-only $(LIBSO) | awk '{print $$3}' | sort) \
	     <(nm -D --defined-only $(FP_LIB) | awk '{print $$3}' | sort)
	@if grep -q -a -e 'write.copying' -e 'SHMIFACE_FAILPOINTS' $(LIBSO); then \
		echo "the release library contains crash-point code" >&2; exit 1; fi
	@echo "crash points: absent from the release library, same exported symbols"
