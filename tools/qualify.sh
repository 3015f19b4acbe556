#!/usr/bin/env bash
# A real stack-upgrade qualification: scenarios/driver-qualification.toml on the previous
# OpenVINO release (.venv-previous, tools/setup_previous.sh) and on the current one (.venv),
# then `bakeoff qualify OLD NEW`: a PASS / FAIL verdict per cell with reasons, and both
# stacks' fingerprints side by side. CPU and NPU:host cells (NPUW host execution, not NPU
# silicon) on a machine without an NPU. Usage: tools/qualify.sh [OUT_DIR]
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

run old --openvino-lib "$old_lib"
run new
"$BAKEOFF" qualify "$OUT/old" "$OUT/new" --out "$OUT"
