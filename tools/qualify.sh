#!/usr/bin/env bash
# A real stack-upgrade qualification of the previous OpenVINO release (.venv-previous,
# tools/setup_previous.sh) against the current one (.venv), in two parts:
#  1. speed, interleaved: `bakeoff ab` runs the warm-cache cells of
#     scenarios/driver-qualification.toml on both stacks at once, pair by pair, and prints
#     each cell's paired change with its 95% interval and verdict (ab.md);
#  2. everything else, separately: the scenario on each stack, then `bakeoff qualify OLD NEW`
#     (compile status, outputs against the goldens, cold and warm compile time, memory; its
#     speed verdicts are only as fine as the drift between the two runs, which it says).
# CPU and NPU:host cells (NPUW host execution, not NPU silicon) on a machine without an
# NPU. Usage: tools/qualify.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-reports/qualify-$(date -u +%Y%m%d-%H%M%S)}
BAKEOFF=./target/release/bakeoff
SCENARIO=scenarios/driver-qualification.toml
old_lib=$(ls -d .venv-previous/lib/python3*/site-packages/openvino/libs | head -1)

run() { # run NAME [--openvino-lib LIB]: a run's own verdict (failed cells, outputs) goes to qualify
  local name=$1; shift
  set +e
  "$BAKEOFF" run "$SCENARIO" --out "$OUT/$name" "$@"
  local code=$?
  set -e
  case $code in
    0|3|4|5) echo "[qualify] $name stack: run exit $code" ;;
    *) echo "[qualify] $name stack: run failed to run (exit $code)"; exit "$code" ;;
  esac
}

set +e
"$BAKEOFF" ab "$SCENARIO" --filter 'cache=warm' --baseline-lib "$old_lib" --out "$OUT/interleaved"
code=$?
set -e
case $code in
  0|3|5) echo "[qualify] interleaved speed verdicts: $OUT/interleaved/ab.md (exit $code)" ;;
  *) echo "[qualify] bakeoff ab failed to run (exit $code)"; exit "$code" ;;
esac

run old --openvino-lib "$old_lib"
run new
"$BAKEOFF" qualify "$OUT/old" "$OUT/new" --out "$OUT"
