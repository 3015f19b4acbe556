#!/usr/bin/env python3
"""The long-context ladder: prompts of about 256 to 4000 tokens cut from one real text.

Each rung is the opening of `scenarios/prompts/long/bread.md` (prose written for this
project, never repeated filler: repetition makes greedy decoding degenerate) followed by one
instruction. The excerpt ends on a sentence boundary and is the longest one whose prompt,
rendered through the model's chat template and tokenized as openvino-genai does, has at most
the rung's token count. The exact counts are printed (and every run records each sample's
prompt length).

Deterministic: the same text, instruction and tokenizer give the same file, byte for byte.

    .venv/bin/python tools/prompts/long_context.py --model models/smollm2-135m \
        --out scenarios/prompts/long-context.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

RUNGS = [256, 512, 1024, 2048, 4000]
INSTRUCTION = "Summarize the text above in three sentences."


def sentences(text: str) -> list[str]:
    """The text's sentences in order, each keeping what follows it (space or paragraph
    break), so that joining a prefix of them gives an exact prefix of the text."""
    pieces = re.split(r"(?<=[.!?:])(\s+)", text.strip())
    out = []
    for i in range(0, len(pieces), 2):
        out.append(pieces[i] + (pieces[i + 1] if i + 1 < len(pieces) else ""))
    return out


def prompt_of(parts: list[str], n: int) -> str:
    return "".join(parts[:n]).rstrip() + "\n\n" + INSTRUCTION


def count(tokenizer, prompt: str) -> int:
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True)
    return len(tokenizer.encode(rendered, add_special_tokens=False).input_ids.data[0])


def longest_within(tokenizer, parts: list[str], limit: int) -> tuple[int, int]:
    """The most sentences whose prompt has at most `limit` tokens, and that count."""
    lo, hi = 1, len(parts)
    if count(tokenizer, prompt_of(parts, lo)) > limit:
        raise SystemExit(f"long_context.py: the first sentence alone is over {limit} tokens")
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(tokenizer, prompt_of(parts, mid)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo, count(tokenizer, prompt_of(parts, lo))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--text", type=Path, default=Path("scenarios/prompts/long/bread.md"))
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()

    import openvino_genai

    tokenizer = openvino_genai.Tokenizer(str(args.model))
    parts = sentences(args.text.read_text(encoding="utf-8"))
    lines = []
    for rung in RUNGS:
        n, tokens = longest_within(tokenizer, parts, rung)
        if n == len(parts):
            raise SystemExit(f"long_context.py: {args.text} is too short for a {rung}-token rung")
        lines.append(json.dumps({"id": f"ctx{rung:04d}", "prompt": prompt_of(parts, n)}, ensure_ascii=False))
        print(f"ctx{rung:04d}: {tokens} tokens ({n} sentences)")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
