#!/usr/bin/env bash
# Builds kiln and its whole C++ test suite with AddressSanitizer + UndefinedBehaviorSanitizer
# (GCC, KILN_SANITIZE=ON, no CUDA) in build-asan/ and runs ctest on it, except the network
# TensorFlow interop test (kiln_tf_interop). Usage: scripts/sanitize.sh [ctest args...]
# JOBS (default 2) sets the build parallelism.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-asan"
jobs="${JOBS:-2}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++ \
  -DKILN_CUDA=OFF -DKILN_SANITIZE=ON -DKILN_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$jobs"
# halt_on_error: any ASan/UBSan report fails the test that produced it.
# detect_leaks=1: LeakSanitizer is part of the run. Suppressions (if any) live in
# scripts/sanitize.supp and are documented in RELIABILITY.md ("Sanitizers").
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
if [[ -f "$root/scripts/lsan.supp" ]]; then
  export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
fi
export KILN_SKIP_TF_INTEROP=1
cd "$build"
ctest --output-on-failure -E kiln_tf_interop "$@"
