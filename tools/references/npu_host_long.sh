#!/usr/bin/env bash
# GenAI's NPU path on the host over the long-context ladder, compiled as bakeoff's `aggressive`
# profile compiles kvcache on NPU:host (the profile tests/long_context.rs compares with): a
# 4096-token prompt window, 512 for the response, and its generate hint, which changes the
# generate model's numbers on the host. Only the ignore_eos generation: no test reads a
# natural stop from it.
#   npu_host_long.sh MODEL OUT [reference.py ARGS...]   (e.g. --only ctx1024)
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$1 out=$2
shift 2
exec .venv/bin/python tools/references/reference.py --model "$model" --out "$out" --device NPU:host \
  --prompts scenarios/prompts/long-context.jsonl --max-new-tokens 48 \
  --max-prompt-len 4096 --min-response-len 512 --npu-property NPUW_LLM_GENERATE_HINT=BEST_PERF \
  --ignore-eos-only "$@"
