# mk/docs.mk — the documentation's tests (tests/docs/).
#
#   make test-docs     every relative link of every Markdown file resolves
#                      inside the repository (none leads out of it), and the
#                      API references name every function, type and constant
#                      of include/shmiface.h and every name of the Python
#                      package's __all__ (a second or so)
#   make test-readme   the README's code blocks, run as a newcomer would in a
#                      fresh copy of the work tree with an empty home and a
#                      private /dev/shm (tests/docs/readme_test.py; a few
#                      minutes the first time: a plain `cargo build --release`
#                      of the copy, kept in build/readme/checkout/target)
#
# The README's steps need pkg-config and luajit: installed here when
# missing, as the README says (bindings/c/ensure-tools.sh, apt-get).

TEST_TARGETS += test-docs test-readme

.PHONY: test-docs test-readme

test-docs:
	$(PYTHON3) tests/docs/check_links.py
	$(PYTHON3) tests/docs/check_coverage.py

# timeout is only a hang guard.
test-readme:
	$(SHMC_ENSURE) pkg-config luajit
	timeout --kill-after=10 1200 $(PYTHON3) tests/docs/readme_test.py README.md
