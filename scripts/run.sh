#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, and runs the graph example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
build/bin/graph_basics
