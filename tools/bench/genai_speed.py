#!/usr/bin/env python3
"""openvino-genai LLMPipeline's speed on one chat prompt, for side-by-side numbers with
`bakeoff generate` (same IR, same reference CPU settings, greedy, ignore_eos). Prints the
median TTFT and decode tokens/s over measured runs after warm-up. The interleaved,
statistically careful comparison belongs to the benchmark suite; this is a quick look.
"""

import argparse
import statistics
import sys
from pathlib import Path

import openvino_genai

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "references"))
from reference import CPU_REFERENCE  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--prompt", default="What is the capital of France?")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pipe = openvino_genai.LLMPipeline(args.model, "CPU", **CPU_REFERENCE)
    rendered = pipe.get_tokenizer().apply_chat_template(
        [{"role": "user", "content": args.prompt}], add_generation_prompt=True
    )
    config = openvino_genai.GenerationConfig()
    config.max_new_tokens = args.max_new_tokens
    config.ignore_eos = True
    ttft, tps = [], []
    for i in range(args.warmup + args.runs):
        result = pipe.generate([rendered], config, apply_chat_template=False)
        if i >= args.warmup:
            m = result.perf_metrics
            ttft.append(m.get_ttft().mean)
            tps.append(1000.0 / m.get_tpot().mean)
    print(
        f"[openvino-genai CPU reference] {args.max_new_tokens} new tokens, {args.runs} runs after "
        f"{args.warmup} warm-up: TTFT median {statistics.median(ttft):.1f} ms, "
        f"decode median {statistics.median(tps):.1f} tok/s"
    )


if __name__ == "__main__":
    main()
