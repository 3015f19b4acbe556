#!/usr/bin/env python3
"""Reference greedy transcripts from openvino-genai's LLMPipeline (the parity anchor).

For every prompt of a JSONL prompt set: render the model's chat template with GenAI's
renderer, tokenize with GenAI's tokenizer (no special tokens added), then generate from
those ids with LLMPipeline on the same baked folder, greedy, with the same precision
settings bakeoff's `reference` profile pins. Two generations per prompt: `ignore_eos` for
`--max-new-tokens` tokens, and a natural one that stops at eos (left out with
`--ignore-eos-only`, for references no test reads natural stops from).

With `--chat-cases FILE --chat-out FILE` it renders chat conversations (messages,
add_generation_prompt, enable_thinking) with GenAI's chat template renderer instead: the
reference bakeoff's minijinja rendering must equal byte for byte.

Devices: `CPU`, or `NPU:host` = LLMPipeline(dir, "NPU", MAX_PROMPT_LEN=...,
MIN_RESPONSE_LEN=..., plus bakeoff's host execution settings), GenAI's own NPU path executed
by the host.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from pathlib import Path

# bakeoff's `reference` CPU profile (exact parity with GenAI needs all three).
CPU_REFERENCE = {
    "INFERENCE_PRECISION_HINT": "f32",
    "DYNAMIC_QUANTIZATION_GROUP_SIZE": "0",
    "KV_CACHE_PRECISION": "f32",
}


# What bakeoff adds to every NPU:host compile (NPUW_DEVICES=CPU and the host execution
# settings): one file, read by bakeoff and here, so both run NPUW on the host alike.
NPU_HOST_TOML = Path(__file__).resolve().parents[2] / "harness" / "profiles" / "npu_host.toml"


def npu_host_settings() -> dict[str, str]:
    host = tomllib.loads(NPU_HOST_TOML.read_text(encoding="utf-8"))
    return {**host["unless_set"], **host["always"]}


def npu_settings(max_prompt_len: int, min_response_len: int, extra: dict[str, str] | None = None) -> dict:
    return {
        **npu_host_settings(),
        "MAX_PROMPT_LEN": max_prompt_len,
        "MIN_RESPONSE_LEN": min_response_len,
        **(extra or {}),
    }


def pipeline(model: Path, device: str, npu: dict):
    import openvino_genai

    if device == "CPU":
        return openvino_genai.LLMPipeline(str(model), "CPU", **CPU_REFERENCE)
    if device == "NPU:host":
        return openvino_genai.LLMPipeline(str(model), "NPU", **npu)
    raise SystemExit(f"reference.py: unknown device {device!r}; allowed: CPU, NPU:host")


def generate(pipe, ids: list[int], max_new_tokens: int, ignore_eos: bool):
    """One greedy generation from token ids; GenAI's result (tokens, perf_metrics)."""
    import numpy as np
    import openvino as ov
    import openvino_genai

    config = openvino_genai.GenerationConfig()
    config.max_new_tokens = max_new_tokens
    config.ignore_eos = ignore_eos
    config.do_sample = False
    inputs = openvino_genai.TokenizedInputs(
        ov.Tensor(np.array([ids], dtype=np.int64)), ov.Tensor(np.ones((1, len(ids)), dtype=np.int64))
    )
    return pipe.generate(inputs, config)


def generate_ids(pipe, ids: list[int], max_new_tokens: int, ignore_eos: bool) -> list[int]:
    return [int(t) for t in generate(pipe, ids, max_new_tokens, ignore_eos).tokens[0]]


def chat_turns(model: Path, conversations: Path, out_path: Path, max_new_tokens: int) -> None:
    """Each conversation of a JSONL file (`{"id": ..., "turns": [...]}`) in GenAI's chat
    mode: `start_chat`, then one `generate` per user turn, greedy, stopping at eos, so the
    pipeline keeps its history (its KV cache) between turns as a chat application does. The
    ids of every answer come from a streamer; the history's answers are GenAI's own decoded
    text. Stateful SDPA, the backend bakeoff's kvcache pipeline compares with."""
    import openvino_genai

    class Ids(openvino_genai.StreamerBase):
        def __init__(self):
            super().__init__()
            self.ids: list[int] = []

        def write(self, token):
            self.ids.extend([int(t) for t in token] if isinstance(token, (list, tuple)) else [int(token)])
            return openvino_genai.StreamingStatus.RUNNING

        def end(self):
            pass

    pipe = openvino_genai.LLMPipeline(str(model), "CPU", ATTENTION_BACKEND="SDPA", **CPU_REFERENCE)
    config = openvino_genai.GenerationConfig()
    config.max_new_tokens = max_new_tokens
    config.do_sample = False
    out = []
    for line in conversations.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        pipe.start_chat()
        turns = []
        for user in item["turns"]:
            streamer = Ids()
            answer = pipe.generate(user, config, streamer)
            turns.append({"user": user, "answer": str(answer), "ids": streamer.ids})
        pipe.finish_chat()
        out.append({"id": item["id"], "turns": turns})
    doc = {
        "reference": "openvino_genai.LLMPipeline start_chat (ATTENTION_BACKEND=SDPA)",
        "openvino_genai": openvino_genai.__version__,
        "settings": CPU_REFERENCE,
        "max_new_tokens": max_new_tokens,
        "conversations": out,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"[reference] {len(out)} conversations in GenAI's chat mode -> {out_path}")


def render_chat_cases(model: Path, cases_path: Path, out_path: Path) -> None:
    """Render every conversation of cases_path with GenAI's chat template renderer."""
    import openvino_genai

    tokenizer = openvino_genai.Tokenizer(str(model))
    rendered = []
    for case in json.loads(cases_path.read_text(encoding="utf-8")):
        extra = {}
        if "enable_thinking" in case:
            extra["enable_thinking"] = case["enable_thinking"]
        text = tokenizer.apply_chat_template(
            case["messages"], add_generation_prompt=case.get("add_generation_prompt", True), extra_context=extra
        )
        rendered.append({**case, "rendered": text})
    out = {"renderer": f"openvino_genai {openvino_genai.__version__} Tokenizer.apply_chat_template", "cases": rendered}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"[reference] {len(rendered)} chat cases rendered -> {out_path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--chat-cases", type=Path, help="JSON list of chat conversations to render")
    parser.add_argument("--chat-out", type=Path, help="where to write the rendered conversations")
    parser.add_argument("--prompts", type=Path, help="JSONL with id and prompt")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--device", default="CPU")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--max-prompt-len", type=int, default=1024)
    parser.add_argument("--min-response-len", type=int, default=128)
    parser.add_argument("--npu-property", action="append", default=[], metavar="KEY=VALUE",
                        help="another NPU property (e.g. the NPUW_LLM hints of the profile a test compares with)")
    parser.add_argument("--conversations", type=Path, help="JSONL of conversations to run in GenAI's chat mode")
    parser.add_argument("--record-refusals", action="store_true",
                        help="record a prompt GenAI refuses (its message) instead of failing")
    parser.add_argument("--only", action="append", default=[], metavar="ID",
                        help="only this prompt id of --prompts (repeatable; default: every prompt)")
    parser.add_argument("--ignore-eos-only", action="store_true",
                        help="only the ignore_eos generation (no natural_ids): for references no test "
                             "reads natural stops from, at half the generations")
    args = parser.parse_args()
    if args.chat_cases:
        if not args.chat_out:
            parser.error("--chat-cases needs --chat-out")
        render_chat_cases(args.model, args.chat_cases, args.chat_out)
        return 0
    if args.conversations:
        if not args.out:
            parser.error("--conversations needs --out")
        chat_turns(args.model, args.conversations, args.out, args.max_new_tokens)
        return 0
    if not (args.prompts and args.out):
        parser.error("--prompts and --out are required (or --chat-cases and --chat-out)")

    import openvino_genai

    tokenizer = openvino_genai.Tokenizer(str(args.model))
    npu = npu_settings(args.max_prompt_len, args.min_response_len, dict(kv.split("=", 1) for kv in args.npu_property))
    pipe = pipeline(args.model, args.device, npu)
    eos = json.loads((args.model / "generation_config.json").read_text())["eos_token_id"]
    lines = [line for line in args.prompts.read_text(encoding="utf-8").splitlines() if line.strip()]
    missing = set(args.only) - {json.loads(line)["id"] for line in lines}
    if missing:
        parser.error(f"--only: no prompt {', '.join(sorted(missing))} in {args.prompts}")
    records = []
    started = time.time()
    for line in lines:
        item = json.loads(line)
        if args.only and item["id"] not in args.only:
            continue
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": item["prompt"]}], add_generation_prompt=True
        )
        ids = tokenizer.encode(rendered, add_special_tokens=False).input_ids.data[0].tolist()
        record = {"id": item["id"], "prompt": item["prompt"], "rendered": rendered, "prompt_ids": ids}
        try:
            record["ignore_eos_ids"] = generate_ids(pipe, ids, args.max_new_tokens, True)
            if not args.ignore_eos_only:
                record["natural_ids"] = generate_ids(pipe, ids, args.max_new_tokens, False)
        except RuntimeError as e:
            # GenAI refusing the prompt (on NPU: longer than MAX_PROMPT_LEN) is itself the
            # reference for what bakeoff must do with it.
            if not args.record_refusals:
                raise
            record["refused"] = str(e)
        records.append(record)
    out = {
        "reference": "openvino_genai.LLMPipeline",
        "openvino_genai": openvino_genai.__version__,
        "device": args.device,
        "settings": CPU_REFERENCE if args.device == "CPU" else npu,
        "max_new_tokens": args.max_new_tokens,
        "eos_token_id": eos,
        "prompts": records,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"[reference] {len(records)} prompts x {args.max_new_tokens} tokens on {args.device} "
          f"in {time.time() - started:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
