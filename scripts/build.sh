#!/usr/bin/env bash
# Configures and builds kiln into build/ (Release; CUDA kernels when nvcc is present).
# Extra arguments go to the CMake configure step, e.g. scripts/build.sh -DKILN_CUDA=OFF
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
