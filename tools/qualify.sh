#!/usr/bin/env bash
# A real stack-upgrade qualification of the previous OpenVINO release (.venv-previous,
# tools/setup_previous.sh) against the current one (.venv), as one `bakeoff ab` run of
# scenarios/driver-qualification.toml: both stacks interleaved pair by pair, every cell
# judged paired on speed, compile (cold and warm), load, first inference, peak memory of the
# compile phase and of the steady state, outputs (each pair's ids across the stacks) and the
# cache across stacks, with one PASS/FAIL and its reasons (ab.md). CPU and NPU:host cells
# (NPUW host execution, not NPU silicon) on a machine without an NPU.
# Usage: tools/qualify.sh [OUT_DIR]. Exit: 0 PASS; 3, 4 or 5 FAIL (a regression, an output
# change, a cell that failed); anything else: the qualification did not run.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-reports/qualify-$(date -u +%Y%m%d-%H%M%S)}
BAKEOFF=./target/release/bakeoff
SCENARIO=scenarios/driver-qualification.toml
old_lib=$(ls -d .venv-previous/lib/python3*/site-packages/openvino/libs | head -1)

set +e
"$BAKEOFF" ab "$SCENARIO" --baseline-lib "$old_lib" --out "$OUT"
code=$?
set -e
case $code in
  0) echo "[qualify] PASS: $OUT/ab.md" ;;
  3|4|5) echo "[qualify] FAIL (exit $code): $OUT/ab.md" ;;
  *) echo "[qualify] bakeoff ab failed to run (exit $code)"; exit "$code" ;;
esac
exit "$code"
