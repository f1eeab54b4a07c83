#!/usr/bin/env bash
# ensure-tools.sh — install the build tools the C/C++ tests need, only when missing.
#
#   bindings/c/ensure-tools.sh [COMMAND[:PACKAGE]...]   (default: pkg-config cmake)
#
# Each COMMAND missing from PATH is installed from Debian's PACKAGE (by
# default the package of the same name; apt-get update first, once). A
# COMMAND that starts with / is a path that must exist instead (headers:
# /usr/include/boost/interprocess:libboost-dev). Already present: does nothing and
# never touches the network. Needs root (or sudo) only when it installs.
set -euo pipefail

present() {
    if [[ $1 == /* ]]; then test -e "$1"; else command -v "$1" >/dev/null 2>&1; fi
}

tools=("$@")
(( ${#tools[@]} )) || tools=(pkg-config cmake)

missing=() packages=()
for spec in "${tools[@]}"; do
    tool=${spec%%:*}
    present "$tool" || { missing+=("$tool"); packages+=("${spec#*:}"); }
done
(( ${#missing[@]} )) || exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-tools: missing ${missing[*]}, and there is no apt-get here: install them by hand" >&2
    exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "ensure-tools: missing ${missing[*]}: run as root, or install them by hand" >&2
        exit 1
    fi
    sudo=(sudo)
fi

echo "ensure-tools: installing ${packages[*]} (apt-get)" >&2
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >/dev/null

for tool in "${missing[@]}"; do
    present "$tool" || { echo "ensure-tools: $tool still missing" >&2; exit 1; }
done
