# mk/demo.mk — `make demo`: the original use case, running by itself.
#
# Builds the library, the C++ owner, the C writer, the stream's C producer
# and C++ late joiner, and the Python venv, then bindings/c/examples/demo.sh
# starts the owner, feeds lines through both writers, shows the owner's
# output, shuts it down and removes the segment; then runs a stream: the
# producer, a slow Python reader counting what it skipped, and a late
# joiner reading the kept history. Interactive use: bindings/c/README.md,
# "The demo".

demo: $(SHMC_DEMO_PROGRAMS) $(VENV)/.ready
	@$(SHMC_DEMO_ENV) timeout --kill-after=5 60 bash bindings/c/examples/demo.sh
