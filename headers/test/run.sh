#!/usr/bin/env bash
# Compiles the layout test against headers/ with the warnings CI uses, then runs it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
g++ -std=c++17 -Wall -Wextra -Werror -I"$here/.." "$here/layout_test.cc" -o "$out/layout_test"
"$out/layout_test"
