# mk/install.mk — make install / make uninstall.
#
#   make install   [PREFIX=/usr/local] [DESTDIR=]     (sudo for a system prefix)
#   make uninstall [PREFIX=/usr/local] [DESTDIR=]
#
# Installs the library (shared and static), the `shmiface` command and
# `shmiface-bridge` (which `shmiface bridge` runs), the C
# and C++ headers, a pkg-config file and a CMake package, listed once in SHMI_FILES below;
# uninstall removes exactly what that list names. As root with no DESTDIR,
# both run ldconfig (LDCONFIG=true skips it).

PREFIX   ?= /usr/local
DESTDIR  ?=
LDCONFIG ?= ldconfig

SHMI_ROOT     = $(DESTDIR)$(PREFIX)
SHMI_GEN     := $(BUILDDIR)/install
SHMI_VERSION := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
# The system libraries libshmiface.a needs, from `cargo rustc --release --lib
# --crate-type staticlib -- --print native-static-libs` (Rust 1.95,
# x86_64-linux-gnu), less its -lgcc_s: the compiler driver adds the unwinder
# itself (libgcc_s in a dynamic link, libgcc_eh in a -static one), and an
# explicit -lgcc_s makes `cc -static ... $(pkg-config --static --libs
# shmiface)` fail, as there is no libgcc_s.a. test-c-install links programs
# statically both ways with them.
SHMI_LIBS_PRIVATE := -lutil -lrt -lpthread -lm -ldl -lc

# Every installed file, one a line: MODE:DESTINATION:SOURCE, the destination
# relative to $(PREFIX). Adding a file to the install is one line here.
SHMI_FILES :=
SHMI_FILES += 0755:lib/libshmiface.so.1:$(LIBSO)
SHMI_FILES += 0644:lib/libshmiface.a:$(LIBDIR)/libshmiface.a
SHMI_FILES += 0755:bin/shmiface:$(LIBDIR)/shmiface
SHMI_FILES += 0755:bin/shmiface-bridge:$(LIBDIR)/shmiface-bridge
SHMI_FILES += 0644:include/shmiface.h:$(INCDIR)/shmiface.h
SHMI_FILES += 0644:include/shmiface.hpp:$(CURDIR)/bindings/c/shmiface.hpp
SHMI_FILES += 0644:lib/pkgconfig/shmiface.pc:$(SHMI_GEN)/shmiface.pc
SHMI_FILES += 0644:lib/pkgconfig/shmiface-static.pc:$(SHMI_GEN)/shmiface-static.pc
SHMI_FILES += 0644:lib/cmake/shmiface/shmiface-config.cmake:$(SHMI_GEN)/shmiface-config.cmake
SHMI_FILES += 0644:lib/cmake/shmiface/shmiface-config-version.cmake:$(SHMI_GEN)/shmiface-config-version.cmake
# Symbolic links, LINK:TARGET (the target relative to the link's directory).
SHMI_LINKS := lib/libshmiface.so:libshmiface.so.1
# Directories below the prefix's standard layout that install may have made:
# uninstall removes each one that is left empty, in this order. The layout
# itself (bin, lib, include) stays, as every prefix has it.
SHMI_DIRS := lib/cmake/shmiface lib/cmake lib/pkgconfig

shmi_field = $(word $2,$(subst :, ,$1))
shmi_empty :=
shmi_space := $(shmi_empty) $(shmi_empty)

.PHONY: install uninstall

# The generated files depend on PREFIX, so they are made afresh each time.
install: lib cli bridge
	mkdir -p $(SHMI_GEN)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(SHMI_VERSION)|g' \
		-e 's|@LIBS_PRIVATE@|$(SHMI_LIBS_PRIVATE)|g' \
		bindings/c/pkg/shmiface.pc.in > $(SHMI_GEN)/shmiface.pc
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(SHMI_VERSION)|g' \
		-e 's|@LIBS_PRIVATE@|$(SHMI_LIBS_PRIVATE)|g' \
		bindings/c/pkg/shmiface-static.pc.in > $(SHMI_GEN)/shmiface-static.pc
	sed -e 's|@CMAKE_LIBS_PRIVATE@|$(subst $(shmi_space),;,$(SHMI_LIBS_PRIVATE))|g' \
		bindings/c/pkg/shmiface-config.cmake.in > $(SHMI_GEN)/shmiface-config.cmake
	sed -e 's|@VERSION@|$(SHMI_VERSION)|g' \
		bindings/c/pkg/shmiface-config-version.cmake.in > $(SHMI_GEN)/shmiface-config-version.cmake
	@$(foreach f,$(SHMI_FILES),\
		echo "install $(SHMI_ROOT)/$(call shmi_field,$f,2)"; \
		install -D -m $(call shmi_field,$f,1) '$(call shmi_field,$f,3)' '$(SHMI_ROOT)/$(call shmi_field,$f,2)';)
	@$(foreach l,$(SHMI_LINKS),\
		echo "link    $(SHMI_ROOT)/$(call shmi_field,$l,1) -> $(call shmi_field,$l,2)"; \
		ln -sfn '$(call shmi_field,$l,2)' '$(SHMI_ROOT)/$(call shmi_field,$l,1)';)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then $(LDCONFIG); fi

uninstall:
	@$(foreach f,$(SHMI_FILES) $(SHMI_LINKS:%=0:%),\
		if [ -e '$(SHMI_ROOT)/$(call shmi_field,$f,2)' ] || [ -L '$(SHMI_ROOT)/$(call shmi_field,$f,2)' ]; then \
			echo "remove  $(SHMI_ROOT)/$(call shmi_field,$f,2)"; \
			rm -f '$(SHMI_ROOT)/$(call shmi_field,$f,2)'; fi;)
	@$(foreach d,$(SHMI_DIRS),\
		if [ -d '$(SHMI_ROOT)/$d' ]; then rmdir --ignore-fail-on-non-empty '$(SHMI_ROOT)/$d'; fi;)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then $(LDCONFIG); fi
