# mk/cli.mk — the `shmiface` command (cli/).
#
#   make cli        target/release/shmiface (plain `cargo build --release`
#                   at the top builds it too: cli is a default workspace member)
#   make test-cli   its unit tests, and cli/tests/cli.rs: every command run
#                   against live segments that a C process (cli/tests/peers/
#                   owner.c, compiled by the test with -Werror) and a Python
#                   process (owner.py, through bindings/python in the venv)
#                   own, error paths included; cli/tests/messages.rs: what
#                   it says in the corners (an empty name, a timeout, an
#                   empty /dev/shm, run in a private mount namespace, a
#                   dead owner).
#
# The tests find the library through SHMIFACE_LIB (exported by the top
# Makefile) and the venv's python through SHMIFACE_CLI_PYTHON.
# SHMIFACE_CHECK_HEADER=1 as in `make lib`, so the library's build script
# sees the same environment and nothing is rebuilt.

CLI_ENV   := SHMIFACE_CHECK_HEADER=1

TEST_TARGETS += test-cli

.PHONY: cli test-cli

cli: lib
	$(CLI_ENV) $(CARGO) build --release --locked -p shmiface-cli

# timeout is only a hang guard (each step inside has its own, 60 s).
test-cli: cli $(VENV)/.ready
	$(CLI_ENV) SHMIFACE_CLI_PYTHON=$(VPY) CC="$(CC)" timeout --kill-after=10 600 \
		$(CARGO) test --release --locked -p shmiface-cli
