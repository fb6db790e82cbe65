#!/usr/bin/env bash
# The README's test command: installs what is missing, builds from nothing and runs every test.
# GPU tests skip (GTEST_SKIP) on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh "$@"
ctest --test-dir build --output-on-failure -j"$(nproc)"
