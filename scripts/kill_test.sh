#!/usr/bin/env bash
# Kill test (issue 6): N trials (default 200) of
#   start kiln_kill_saver_child DIR (it resumes from DIR's latest checkpoint and saves sharded
#   checkpoints in a loop), SIGKILL it after a random 20-400 ms, then
#   kiln_kill_saver_child --check DIR MIN_STEP
# (MIN_STEP: the highest step known complete: printed by a child after its save returned, or
# found as the latest checkpoint by the previous check; the latest checkpoint must be that step
# or the next one, which the killed child may have committed without printing it)
# in ONE directory, so every restart also meets the leftovers of the previous kill. After the
# trials a child runs to completion (3 more saves) and --check --clean asserts that no
# temporary file is left. Exit 0 only when every check passed; prints "kill_test: P/N passed".
#
#   scripts/kill_test.sh [N]
# Environment: KILN_KILL_CHILD (the child binary; default build/bin/kiln_kill_saver_child),
# KILN_KILL_DIR (the checkpoint directory; default a fresh temp dir, removed on success).
set -u
N=${1:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${KILN_KILL_CHILD:-$ROOT/build/bin/kiln_kill_saver_child}
[[ -x $BIN ]] || { echo "kill_test: no child binary at $BIN" >&2; exit 2; }
DIR=${KILN_KILL_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/kiln_kill.XXXXXX")}
mkdir -p "$DIR"
OUT=$(mktemp "${TMPDIR:-/tmp}/kiln_kill_out.XXXXXX")

max_step=0   # highest step known complete (printed by a child, or found by a check)
passed=0
for ((t = 1; t <= N; t++)); do
  delay_ms=$((20 + RANDOM % 381))
  "$BIN" "$DIR" >"$OUT" 2>"$OUT.err" &
  pid=$!
  sleep "$(printf '0.%03d' "$delay_ms")"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  # 137 = killed by SIGKILL; anything else means the child stopped on its own (an error).
  if [[ $rc -ne 137 ]]; then
    echo "kill_test: trial $t: child exited $rc before the kill:" >&2
    cat "$OUT.err" >&2
    break
  fi
  # Complete lines only: the kill may cut a line short.
  last=$(grep -E '^[0-9]+$' "$OUT" | tail -n 1)
  saves=$(grep -cE '^[0-9]+$' "$OUT")
  if [[ -n $last && $last -gt $max_step ]]; then max_step=$last; fi
  if ! "$BIN" --check "$DIR" "$max_step" >"$OUT.check"; then
    echo "kill_test: trial $t failed (killed after ${delay_ms} ms, $saves saves completed," \
         "highest step $max_step); directory: $DIR" >&2
    ls -la "$DIR" >&2
    break
  fi
  found=$(sed -n 's/^latest_step=//p' "$OUT.check")
  if [[ -n $found && $found -gt $max_step ]]; then max_step=$found; fi
  passed=$((passed + 1))
done

status=1
if [[ $passed -eq $N ]]; then
  # Resume once more and finish normally: the leftovers of the last kill must be swept.
  if "$BIN" "$DIR" $((max_step + 4)) >"$OUT" 2>"$OUT.err" &&
     "$BIN" --check "$DIR" $((max_step + 4)) --clean; then
    status=0
  else
    echo "kill_test: final uninterrupted run or clean check failed:" >&2
    cat "$OUT.err" >&2
    ls -la "$DIR" >&2
  fi
fi
echo "kill_test: $passed/$N passed (highest step $max_step; dir $DIR)"
rm -f "$OUT" "$OUT.err" "$OUT.check"
if [[ $status -eq 0 && -z ${KILN_KILL_DIR:-} ]]; then rm -rf "$DIR"; fi
exit $status
