#!/usr/bin/env bash
# The previous OpenVINO release in a venv of its own (.venv-previous, pinned by
# tools/requirements-previous.lock: openvino 2026.3.1 with its openvino-genai and
# openvino-tokenizers), for stack-upgrade qualification: bakeoff runs the same scenario on it
# with --openvino-lib and on the project's .venv, then `bakeoff qualify` compares.
# Idempotent: a second run with the lock unchanged does nothing and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv-previous
say() { echo "[setup-previous] $*"; }

lock_hash=$(sha256sum tools/requirements-previous.lock | cut -d' ' -f1)
if [ -f "$VENV/.bakeoff-lock" ] && [ "$(cat "$VENV/.bakeoff-lock")" = "$lock_hash" ]; then
  say "venv $VENV: up to date"
else
  say "creating venv $VENV with the previous OpenVINO release (tools/requirements-previous.lock)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tools/requirements-previous.lock
  echo "$lock_hash" > "$VENV/.bakeoff-lock"
fi
lib=$(ls -d "$VENV"/lib/python3*/site-packages/openvino/libs | head -1)
say "ready: --openvino-lib $lib ($("$VENV/bin/python" -c 'import openvino; print(openvino.__version__)'))"
