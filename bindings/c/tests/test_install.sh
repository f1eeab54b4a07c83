#!/usr/bin/env bash
# test_install.sh — `make install` into a temporary prefix, then build and run
# against the installed files only:
#   - a C program with `pkg-config --cflags --libs shmiface` alone,
#   - the same C program linked statically with `pkg-config shmiface-static`
#     and, static throughout, with `cc -static` and `pkg-config --static shmiface`,
#   - a C++ program (shared and static) with CMake find_package(shmiface);
# then `make uninstall` must leave no file behind. Also checks a DESTDIR
# staged install. Run from the repository root (make test-c-install does).
set -euo pipefail

MAKE=${MAKE:-make}
CC=${CC:-cc}
CXX=${CXX:-c++}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmiface-install-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
passed=0
failed=0

ok()   { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
# link_consumer OUT ARGS...: consumer.c into $build/OUT with ARGS (flags and
# libraries); a failed link shows the linker's output and counts as failed.
link_consumer() {
    local out=$1; shift
    "$CC" -std=c11 -Wall -Wextra -Wpedantic -Werror "$here/consumer/consumer.c" "$@" \
        -o "$build/$out" 2>"$build/$out.log" && return 0
    cat "$build/$out.log" >&2
    fail "link $out with $*"
    return 1
}

# Nothing from the build tree may leak into the consumers.
unset SHMIFACE_LIB LD_LIBRARY_PATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH || true
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig

expected_files="bin/shmiface
bin/shmiface-bridge
include/shmiface.h
include/shmiface.hpp
lib/cmake/shmiface/shmiface-config-version.cmake
lib/cmake/shmiface/shmiface-config.cmake
lib/libshmiface.a
lib/libshmiface.so
lib/libshmiface.so.1
lib/pkgconfig/shmiface-static.pc
lib/pkgconfig/shmiface.pc"

listing() { (cd "$1" && find . -mindepth 1 ! -type d | sed 's|^\./||' | LC_ALL=C sort); }

# ---- install -----------------------------------------------------------------
quiet_make() {  # the install log only when make fails
    if ! "$MAKE" --no-print-directory -s "$@" >"$tmp/make.log" 2>&1; then
        cat "$tmp/make.log" >&2
        echo "FAIL $MAKE $*" >&2
        exit 1
    fi
}

quiet_make install PREFIX="$prefix" LDCONFIG=true
check "install puts exactly the listed files in the prefix" \
    test "$(listing "$prefix")" = "$expected_files"
check "lib/libshmiface.so.1 is a real file" test -f "$prefix/lib/libshmiface.so.1" -a ! -L "$prefix/lib/libshmiface.so.1"
check "lib/libshmiface.so -> libshmiface.so.1" test "$(readlink "$prefix/lib/libshmiface.so")" = libshmiface.so.1
check "SONAME is libshmiface.so.1" \
    bash -c "readelf -d '$prefix/lib/libshmiface.so.1' | grep -q 'SONAME.*\[libshmiface.so.1\]'"
check "bin/shmiface runs from the prefix" \
    bash -c "'$prefix/bin/shmiface' ls --all --json | python3 -c 'import json, sys; assert isinstance(json.load(sys.stdin), list)'"
check "bin/shmiface needs no libshmiface.so" \
    bash -c "! readelf -d '$prefix/bin/shmiface' | grep -q 'NEEDED.*libshmiface'"
check "shmiface.pc names the prefix" grep -qx "prefix=$prefix" "$prefix/lib/pkgconfig/shmiface.pc"
check "pkg-config knows shmiface" pkg-config --exists shmiface
check "pkg-config version matches Cargo.toml" \
    test "$(pkg-config --modversion shmiface)" = "$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)"

# ---- C with pkg-config alone -------------------------------------------------
build=$tmp/build
mkdir -p "$build"
# shellcheck disable=SC2046  # word splitting of pkg-config's output is the point
"$CC" -std=c11 -Wall -Wextra -Wpedantic -Werror "$here/consumer/consumer.c" -o "$build/consumer_c" \
    $(pkg-config --cflags --libs shmiface)
check "C consumer resolves libshmiface.so.1 in the prefix" \
    bash -c "LD_LIBRARY_PATH='$prefix/lib' ldd '$build/consumer_c' | grep -q 'libshmiface.so.1 => $prefix/lib/libshmiface.so.1'"
check "C consumer (pkg-config) runs against the installed library" \
    env LD_LIBRARY_PATH="$prefix/lib" "$build/consumer_c"

# libshmiface.a in an otherwise dynamic program, from the module
# shmiface-static alone: the archive plus the Rust runtime's system libraries.
# shellcheck disable=SC2046  # word splitting of pkg-config's output is the point
if link_consumer consumer_c_static $(pkg-config --cflags --libs shmiface-static); then
    check "static C consumer (pkg-config shmiface-static) has no libshmiface.so dependency" \
        bash -c "! readelf -d '$build/consumer_c_static' | grep -q libshmiface"
    check "static C consumer (pkg-config shmiface-static) runs" "$build/consumer_c_static"
fi
check "pkg-config --static --libs shmiface-static is the same static link" \
    test "$(pkg-config --static --libs shmiface-static)" = "$(pkg-config --libs shmiface-static)"
check "shmiface.pc points a static link at shmiface-static" \
    grep -q "shmiface-static" "$prefix/lib/pkgconfig/shmiface.pc"

# A link static throughout: the compiler's -static with `pkg-config --static
# shmiface`. Its private libraries must all exist as archives (an explicit
# -lgcc_s did not: there is no libgcc_s.a).
# shellcheck disable=SC2046  # word splitting of pkg-config's output is the point
if link_consumer consumer_c_full_static -static $(pkg-config --cflags --static --libs shmiface); then
    check "cc -static with pkg-config --static shmiface has no dynamic section" \
        bash -c "! readelf -d '$build/consumer_c_full_static' | grep -q NEEDED && ! readelf -l '$build/consumer_c_full_static' | grep -q INTERP"
    check "cc -static with pkg-config --static shmiface runs" env -u LD_LIBRARY_PATH "$build/consumer_c_full_static"
fi

# ---- C++ with CMake find_package -----------------------------------------------
if cmake -S "$here/consumer" -B "$build/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_BUILD_TYPE=Release \
        >"$build/cmake.log" 2>&1 &&
   cmake --build "$build/cmake" >>"$build/cmake.log" 2>&1; then
    ok "CMake find_package(shmiface) configures and builds"
    # CMake gives build-tree programs an rpath to the imported library.
    check "C++ consumer resolves libshmiface.so.1 in the prefix" \
        bash -c "ldd '$build/cmake/consumer_cpp' | grep -q 'libshmiface.so.1 => $prefix/lib/libshmiface.so.1'"
    check "C++ consumer (CMake, shared) runs against the installed library" "$build/cmake/consumer_cpp"
    check "C++ consumer (CMake, shmiface::shmiface_static) runs" "$build/cmake/consumer_cpp_static"
else
    cat "$build/cmake.log" >&2
    fail "CMake find_package(shmiface) configures and builds"
fi
# The version file: a request for another major version is refused.
mkdir -p "$build/v9"
printf 'cmake_minimum_required(VERSION 3.16)\nproject(v9 LANGUAGES C)\nfind_package(shmiface 9.0 REQUIRED)\n' \
    >"$build/v9/CMakeLists.txt"
check "find_package(shmiface 9.0) is refused" \
    bash -c "! cmake -S '$build/v9' -B '$build/v9/build' -DCMAKE_PREFIX_PATH='$prefix' >/dev/null 2>&1"

# ---- uninstall -------------------------------------------------------------------
quiet_make uninstall PREFIX="$prefix" LDCONFIG=true
check "uninstall leaves no file in the prefix" test -z "$(listing "$prefix")"
check "uninstall removes the directories it emptied" \
    test ! -e "$prefix/lib/cmake" -a ! -e "$prefix/lib/pkgconfig"

# ---- DESTDIR staging ---------------------------------------------------------------
stage=$tmp/stage
quiet_make install DESTDIR="$stage" PREFIX=/opt/shmiface LDCONFIG=true
check "DESTDIR install lands under DESTDIR/PREFIX" \
    test "$(listing "$stage/opt/shmiface")" = "$expected_files"
check "DESTDIR install keeps the real prefix in shmiface.pc" \
    grep -qx "prefix=/opt/shmiface" "$stage/opt/shmiface/lib/pkgconfig/shmiface.pc"
quiet_make uninstall DESTDIR="$stage" PREFIX=/opt/shmiface LDCONFIG=true
check "DESTDIR uninstall leaves no file" test -z "$(listing "$stage")"

echo "test_install: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
