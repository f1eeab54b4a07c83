# mk/demo.mk — `make demo`: the original use case, running by itself.
#
# Builds the library, the C++ owner, the C writer and the Python venv, then
# bindings/c/examples/demo.sh starts the owner, feeds lines through both
# writers, shows the owner's output, shuts it down and removes the segment.
# Interactive use: bindings/c/README.md, "The demo".

demo: $(SHMC_OWNER) $(SHMC_WRITER) $(VENV)/.ready
	@OWNER=$(SHMC_OWNER) WRITER=$(SHMC_WRITER) PYTHON=$(VPY) PYWRITER=$(SHMC_PYWRITER) \
		PYTHONPATH=$(CURDIR)/bindings/python timeout --kill-after=5 60 bash bindings/c/examples/demo.sh
