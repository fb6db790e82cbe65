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
#   5. TF imports .meta files kiln wrote (plain and sharded over 3 devices), restores kiln's
#      checkpoints through kiln's SaverDef and saves through it again (tf_meta.py read_kiln).
#   6. A TF1 program saves sharded with global_step and max_to_keep=2 (tf_meta.py write_tf);
#      `kiln latest` finds its checkpoint, `kiln run` computes the same y from its .meta, and
#      kiln_interop_continue saves step 40 into the directory, which TF then sees as its own
#      (tf_meta.py check_continued).
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

echo "== 5. MetaGraphs: TF imports kiln's .meta and restores through its SaverDef"
examples="${KILN_EXAMPLES_DIR:-$build/bin}"
meta_work="$work/meta"
mkdir -p "$meta_work"
if [ -x "$examples/save_restore" ] && [ -x "$examples/sharded_save" ]; then
  (cd "$meta_work" && "$examples/save_restore" kiln_seed > /dev/null) || { echo "FAIL: save_restore"; status=1; }
  "$examples/sharded_save" --cpu --devices 3 --vars 5 --mb 1 --out "$meta_work/kiln_sharded" > /dev/null \
    || { echo "FAIL: sharded_save"; status=1; }
  for ckpt in "$meta_work/kiln_seed/model.ckpt" "$meta_work/kiln_seed/my_test_model-1000" \
              "$meta_work/kiln_sharded/model-1"; do
    "$kiln" inspect --json --all-tensors "$ckpt" > "$ckpt.json" || { echo "FAIL: kiln inspect $ckpt"; status=1; }
    "$py" "$here/tf_meta.py" read_kiln "$ckpt.meta" "$ckpt" "$ckpt.json" 2> >(quiet >&2) || status=1
  done
else
  echo "FAIL: examples save_restore/sharded_save not built in $examples (KILN_BUILD_EXAMPLES=ON)"; status=1
fi

echo "== 6. kiln runs TF's graph and continues TF's sharded checkpoint directory"
tf_dir="$meta_work/tf_managed"
"$py" "$here/tf_meta.py" write_tf "$tf_dir" 2> >(quiet >&2) > /dev/null || { echo "FAIL: tf_meta.py write_tf"; status=1; }
if [ -f "$tf_dir/expected.json" ]; then
  want_latest=$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['latest'])" "$tf_dir/expected.json")
  got_latest=$("$kiln" latest "$tf_dir") || status=1
  [ "$got_latest" = "$want_latest" ] && echo "ok: kiln latest = $got_latest" \
    || { echo "FAIL: kiln latest gave '$got_latest', TF says '$want_latest'"; status=1; }
  "$kiln" run "$want_latest.meta" --checkpoint "$tf_dir" --feed 'x:0=[[1,2],[3,4]]' --fetch y:0 --json \
    > "$tf_dir/kiln_y.json" || { echo "FAIL: kiln run on TF's graph"; status=1; }
  "$py" - "$tf_dir/expected.json" "$tf_dir/kiln_y.json" <<'PY' || status=1
import json, sys
import numpy as np
want = np.array(json.load(open(sys.argv[1]))["y"], dtype=np.float32)
got = json.load(open(sys.argv[2]))["fetches"][0]
got = np.array([float(v) for v in got["values"]], dtype=np.float32).reshape(got["shape"])
# TF's MatMul may fuse multiply-adds differently from kiln's: equal to float32 rounding.
ok = got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-6)
print(("ok: kiln run y:0 = TF's y %s" % got.ravel().tolist()) if ok else "FAIL: kiln y %s != TF y %s" % (got, want))
sys.exit(0 if ok else 1)
PY
  if [ -n "${KILN_CONTINUE_BIN:-}" ] && "$KILN_CONTINUE_BIN" "$tf_dir" 40 > /dev/null; then
    "$py" "$here/tf_meta.py" check_continued "$tf_dir" 2> >(quiet >&2) || status=1
  else
    echo "FAIL: kiln_interop_continue (KILN_CONTINUE_BIN) could not continue $tf_dir"; status=1
  fi
fi

[ "$status" = 0 ] && echo "PASS: TensorFlow interop" || echo "FAIL: TensorFlow interop"
exit "$status"
