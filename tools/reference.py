#!/usr/bin/env python3
"""Reference greedy transcripts from openvino-genai's LLMPipeline (the parity anchor).

For every prompt of a JSONL prompt set: render the model's chat template with GenAI's
renderer, tokenize with GenAI's tokenizer (no special tokens added), then generate from
those ids with LLMPipeline on the same baked folder, greedy, with the same precision
settings bakeoff's `reference` profile pins. Two generations per prompt: `ignore_eos` for
`--max-new-tokens` tokens, and a natural one that stops at eos.

Devices: `CPU`, or `NPU:host` = LLMPipeline(dir, "NPU", NPUW_DEVICES="CPU",
MAX_PROMPT_LEN=..., MIN_RESPONSE_LEN=...), GenAI's own NPU path executed by the host.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# bakeoff's `reference` CPU profile (DESIGN.md section 11: exact parity needs all three).
CPU_REFERENCE = {
    "INFERENCE_PRECISION_HINT": "f32",
    "DYNAMIC_QUANTIZATION_GROUP_SIZE": "0",
    "KV_CACHE_PRECISION": "f32",
}


def pipeline(model: Path, device: str, max_prompt_len: int, min_response_len: int):
    import openvino_genai

    if device == "CPU":
        return openvino_genai.LLMPipeline(str(model), "CPU", **CPU_REFERENCE)
    if device == "NPU:host":
        return openvino_genai.LLMPipeline(
            str(model),
            "NPU",
            NPUW_DEVICES="CPU",
            MAX_PROMPT_LEN=max_prompt_len,
            MIN_RESPONSE_LEN=min_response_len,
        )
    raise SystemExit(f"reference.py: unknown device {device!r}; allowed: CPU, NPU:host")


def generate_ids(pipe, ids: list[int], max_new_tokens: int, ignore_eos: bool) -> list[int]:
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
    result = pipe.generate(inputs, config)
    return [int(t) for t in result.tokens[0]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--prompts", required=True, type=Path, help="JSONL with id and prompt")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--device", default="CPU")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--max-prompt-len", type=int, default=1024)
    parser.add_argument("--min-response-len", type=int, default=128)
    args = parser.parse_args()

    import openvino_genai

    tokenizer = openvino_genai.Tokenizer(str(args.model))
    pipe = pipeline(args.model, args.device, args.max_prompt_len, args.min_response_len)
    eos = json.loads((args.model / "generation_config.json").read_text())["eos_token_id"]
    records = []
    started = time.time()
    for line in args.prompts.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": item["prompt"]}], add_generation_prompt=True
        )
        ids = tokenizer.encode(rendered, add_special_tokens=False).input_ids.data[0].tolist()
        records.append(
            {
                "id": item["id"],
                "prompt": item["prompt"],
                "rendered": rendered,
                "prompt_ids": ids,
                "ignore_eos_ids": generate_ids(pipe, ids, args.max_new_tokens, True),
                "natural_ids": generate_ids(pipe, ids, args.max_new_tokens, False),
            }
        )
    out = {
        "reference": "openvino_genai.LLMPipeline",
        "openvino_genai": openvino_genai.__version__,
        "device": args.device,
        "settings": CPU_REFERENCE if args.device == "CPU" else {
            "NPUW_DEVICES": "CPU",
            "MAX_PROMPT_LEN": args.max_prompt_len,
            "MIN_RESPONSE_LEN": args.min_response_len,
        },
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
