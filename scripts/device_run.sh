#!/usr/bin/env bash
# Runs the prebuilt test and benchmark programs on a GPU machine that has CUDA but none of the
# Debian libraries (used with the session's device tool): expects .devcarry/bin (programs) and
# .devcarry/lib (libbenchmark). Logs go to $OUT when set.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-/tmp/kiln-device}"
mkdir -p "$out"
if [ -f .devcarry/devcarry.tgz ]; then tar xzf .devcarry/devcarry.tgz -C .devcarry; fi
[ -d .devcarry/testdata ] && export KILN_TESTDATA="$PWD/.devcarry/testdata"
export LD_LIBRARY_PATH="$PWD/.devcarry/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv | tee "$out/gpu.txt"
status=0
for t in kiln_core_tests kiln_ops_tests kiln_kernels_tests kiln_io_tests; do
  if ! .devcarry/bin/$t --gtest_brief=1 > "$out/$t.txt" 2>&1; then status=1; fi
  echo "== $t: $(grep -E '^\[  (PASSED|FAILED|SKIPPED)' "$out/$t.txt" | tr '\n' ' ')"
  grep -E '^\[  FAILED  \]' "$out/$t.txt" | head -20
  cat "$out/$t.txt" >> "$out/tests.log" && rm "$out/$t.txt"
done
.devcarry/bin/graph_basics > "$out/graph_basics.log" 2>&1 || status=1
head -3 "$out/graph_basics.log"
if [ "${KILN_DEVICE_BENCH:-1}" = 1 ]; then
  for b in bench_ops_gpu bench_session; do
    .devcarry/bin/$b --benchmark_min_time=0.3 --benchmark_format=console \
      --benchmark_out="$out/$b.json" --benchmark_out_format=json 2>&1 | grep -v "^\*\*\*" | tail -40
  done
fi
exit $status
