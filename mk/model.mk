# mk/model.mk — the model checks of the concurrency protocols (model/).
#
#   make test-model   loom explores every interleaving, up to
#                     MODEL_PREEMPTIONS preemptions, of the value's seqlock
#                     (2 and 3 slots, a writer killed at each step), wait and
#                     notify with a count of sleepers, and the writer lock
#                     naming its holder (a holder killed in and after its
#                     critical section); each model prints how many
#                     interleavings it explored, and each known-wrong variant
#                     the defect loom found in it. model/README.md says more.
#
# The crate is a workspace member but not a default one, so plain
# `cargo build` never builds loom. Release mode: loom runs each model's
# closure hundreds of thousands of times.
# 3 preemptions take about 1.5 minutes on 2 cores (2: 15 s, 4: 6.5 minutes);
# every defect the models know of needs at most 2.

MODEL_PREEMPTIONS ?= 3

TEST_TARGETS += test-model

.PHONY: test-model

# timeout is only a hang guard.
test-model:
	LOOM_MAX_PREEMPTIONS=$(MODEL_PREEMPTIONS) timeout --kill-after=10 900 \
		$(CARGO) test --release --locked -p shmiface-model -- --nocapture
