#!/usr/bin/env bash
# Builds the libFuzzer targets (KILN_FUZZ=ON, clang, ASan + UBSan) in build-fuzz/ and runs each
# for SECONDS (default 600), two at a time, from the seed corpus made by fuzz/make_corpus.sh.
# First replays fuzz/regressions/<target>/* (inputs that once crashed; must not any more).
# Prints per target: seconds, executions, corpus size, findings (crash-*/leak-*/timeout-*/oom-*
# files written to build-fuzz/findings/<target>/).
# Usage: scripts/fuzz.sh [SECONDS] [target...]   JOBS (default 2) = build parallelism and the
# number of targets run at once; KILN_FUZZ_NO_BUILD=1 skips the build.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
secs="${1:-600}"; shift || true
jobs="${JOBS:-2}"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(fuzz_index_reader fuzz_v1_reader fuzz_meta_graph fuzz_checkpoint_state)

if [[ -z "${KILN_FUZZ_NO_BUILD:-}" ]]; then  # set: use the binaries already in build-fuzz/bin
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DKILN_CUDA=OFF -DKILN_FUZZ=ON \
  -DKILN_BUILD_TESTS=OFF -DKILN_BUILD_BENCH=OFF -DKILN_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target "${targets[@]}" fuzz_make_seeds
fi

bash "$root/fuzz/make_corpus.sh" "$build/corpus"

max_len_of() {
  case "$1" in
    fuzz_index_reader) echo 65536 ;;
    fuzz_v1_reader) echo 65536 ;;
    fuzz_meta_graph) echo 262144 ;;
    fuzz_checkpoint_state) echo 8192 ;;
  esac
}

export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

# Regressions: every stored input must run clean.
status=0
for t in "${targets[@]}"; do
  dir="$root/fuzz/regressions/$t"
  if compgen -G "$dir/*" >/dev/null; then
    if "$build/bin/$t" -rss_limit_mb=2048 -timeout=10 "$dir"/* >"$build/regress-$t.log" 2>&1; then
      echo "$t: regressions $(ls "$dir" | wc -l) replayed, clean"
    else
      echo "$t: REGRESSION FAILED (see $build/regress-$t.log)"; status=1
    fi
  fi
done

run_one() {
  local t="$1" corpus="$build/corpus/$1" out="$build/findings/$1" log="$build/fuzz-$1.log"
  mkdir -p "$out"
  local t0=$SECONDS
  "$build/bin/$t" "$corpus" -max_total_time="$secs" -max_len="$(max_len_of "$t")" \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$out/" -close_fd_mask=1 >"$log" 2>&1 || true
  date -u >> "$log"
  local dt=$((SECONDS - t0))
  local execs findings
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  findings=$(ls "$out" | wc -l)
  echo "$t: ${dt} s, ${execs} executions, corpus $(ls "$corpus" | wc -l) files, findings ${findings}$( ((findings)) && echo " ($(ls "$out" | tr '\n' ' '))")"
}

pids=()
for t in "${targets[@]}"; do
  run_one "$t" > "$build/summary-$t.txt" &
  pids+=($!)
  if (( ${#pids[@]} >= jobs )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait
for t in "${targets[@]}"; do cat "$build/summary-$t.txt"; done
for t in "${targets[@]}"; do [[ -z "$(ls "$build/findings/$t")" ]] || status=1; done
exit $status
