#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, and trains the MLP demo
# (examples/train_mlp) from scratch with its defaults, checkpointing into build/train_mlp_ckpt.
# Extra arguments go to train_mlp (e.g. --steps 5000 --optimizer momentum).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
rm -rf build/train_mlp_ckpt
build/bin/train_mlp --checkpoint-dir build/train_mlp_ckpt "$@"
