#!/usr/bin/env bash
# Installs kiln from an existing build tree into a temporary prefix, then configures, builds and
# runs a separate project that uses it through find_package(kiln) and kiln::kiln.
set -euo pipefail
src="$1"
build="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/install/consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" -j2 >/dev/null
out="$("$work/build/consumer")"
echo "$out"
[ "$out" = "consumer: 6" ]
