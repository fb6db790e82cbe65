#!/usr/bin/env bash
# Installs the Debian packages kiln needs when they are missing (idempotent; no-op when present).
# CUDA is optional: when nvcc is installed (/usr/local/cuda) the CUDA kernels build too.
set -euo pipefail

PACKAGES=(cmake g++ make pkg-config libeigen3-dev googletest libgtest-dev libgmock-dev libbenchmark-dev
          libprotobuf-dev protobuf-compiler libleveldb-dev libsnappy-dev
          libcli11-dev nlohmann-json3-dev libisal-dev)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "kiln setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
