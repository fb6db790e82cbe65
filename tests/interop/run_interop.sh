#!/usr/bin/env bash
# Interop with real TensorFlow (CTest: kiln_tf_interop).
#
#   tests/interop/run_interop.sh BUILD_DIR
#
# Creates (or reuses) a virtual environment BUILD_DIR/interop-venv with tensorflow-cpu from PyPI,
# then, in a fresh BUILD_DIR/interop-work:
#   1. TF writes checkpoints (tf_write.py): every dtype incl. strings, a Saver sharded over 3
#      logical CPUs with a partitioned variable, a V1 checkpoint, a TF2 object checkpoint; the
#      values it wrote go to expected.json.
#   2. kiln reads them: `kiln inspect --json --all-tensors` compared exactly (check_kiln_json.py),
#      and `kiln verify` passes.
#   3. kiln writes them: `kiln convert` (1 to 3 data files, alignment 64) to new prefixes that
#      `kiln verify` passes and TF reads back equal (tf_read.py); for the unsharded checkpoint the
#      converted .index and data file are byte-identical to TF's.
# Failing to install TensorFlow is a FAILURE, unless KILN_SKIP_TF_INTEROP=1 (exit 77: skipped).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: run_interop.sh BUILD_DIR}" && pwd)"
kiln="${KILN_BIN:-$build/bin/kiln}"
venv="$build/interop-venv"
work="$build/interop-work"

if [ "${KILN_SKIP_TF_INTEROP:-0}" = 1 ]; then
  echo "SKIPPED: KILN_SKIP_TF_INTEROP=1"
  exit 77
fi
[ -x "$kiln" ] || { echo "FAIL: kiln binary not found at $kiln (build target kiln_cli)"; exit 1; }

export TF_CPP_MIN_LOG_LEVEL=3 PIP_DISABLE_PIP_VERSION_CHECK=1
py="$venv/bin/python"
if ! { [ -x "$py" ] && "$py" -c "import tensorflow" 2>/dev/null; }; then
  echo "== installing tensorflow-cpu into $venv (a few minutes, once)"
  python3 -m venv "$venv" || { echo "FAIL: python3 -m venv failed (Debian: apt-get install python3-venv)"; exit 1; }
  if ! "$py" -m pip install --quiet --timeout 60 --retries 2 tensorflow-cpu; then
    echo "FAIL: could not install tensorflow-cpu from the Python package index (no network?)."
    echo "      The TensorFlow interop test needs it; set KILN_SKIP_TF_INTEROP=1 to skip it."
    exit 1
  fi
fi
"$py" -c "import tensorflow as tf; print('== TensorFlow', tf.__version__)" 2>/dev/null

rm -rf "$work"
mkdir -p "$work/kiln"
quiet() { grep -v -e '^WARNING: All log messages before absl' -e '^[WIE]0000 ' || true; }

echo "== 1. TensorFlow writes checkpoints"
mapfile -t prefixes < <("$py" "$here/tf_write.py" "$work" 2> >(quiet >&2))
[ "${#prefixes[@]}" -ge 4 ] || { echo "FAIL: tf_write.py wrote ${#prefixes[@]} checkpoints"; exit 1; }
expected="$work/expected.json"

status=0
i=0
for prefix in "${prefixes[@]}"; do
  i=$((i + 1))
  echo "== 2. kiln reads $prefix"
  "$kiln" verify "$prefix" || status=1
  if "$kiln" inspect --json --all-tensors "$prefix" > "$work/kiln_$i.json"; then
    "$py" "$here/check_kiln_json.py" "$expected" "$prefix" "$work/kiln_$i.json" || status=1
  else
    echo "FAIL: kiln inspect $prefix"; status=1
  fi

  shards=$(( (i - 1) % 3 + 1 ))
  align=$(( i % 2 == 0 ? 64 : 1 ))
  out="$work/kiln/converted_$i"
  echo "== 3. kiln convert --shards $shards --align $align; TF reads $out"
  if "$kiln" convert "$prefix" "$out" --shards "$shards" --align "$align"; then
    "$kiln" verify "$out" || status=1
    "$py" "$here/tf_read.py" "$expected" "$prefix" "$out" 2> >(quiet >&2) || status=1
  else
    echo "FAIL: kiln convert $prefix"; status=1
  fi
done

echo "== 4. kiln's bundle of TF's unsharded checkpoint is byte-identical to TF's"
tf_dtypes="${prefixes[0]}"
"$kiln" convert "$tf_dtypes" "$work/kiln/identical" > /dev/null || status=1
for suffix in .index .data-00000-of-00001; do
  if cmp "$tf_dtypes$suffix" "$work/kiln/identical$suffix"; then
    echo "ok: $suffix identical"
  else
    echo "FAIL: $suffix differs from TF's"; status=1
  fi
done

[ "$status" = 0 ] && echo "PASS: TensorFlow interop" || echo "FAIL: TensorFlow interop"
exit "$status"
