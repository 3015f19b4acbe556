#!/usr/bin/env python3
"""Where the prefill time goes: bakeoff's stateful (SDPA) IR against the same IR transformed
to paged attention, as openvino-genai's default PA backend runs it.

Both are compiled on CPU with the reference properties (f32, f32 KV cache, no dynamic
quantization) and PERF_COUNT, and run the same prompt's prefill (the chat prompt rendered
and tokenized by GenAI, as bench_vs_genai.py does) `--runs` times after `--warmup`. The
prefill is timed around infer() alone, and the plugin's per-node counters of every run are
summed by node type, so the table shows which kinds of work differ between the two. The
stateful prefill runs on a fresh infer request each time, as bakeoff's kvcache pipeline does.
The figures it gave are in the README ("Performance").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "references"))  # the GenAI reference settings and generation

from reference import CPU_REFERENCE  # noqa: E402

# The KV-cache block count for the PA run: enough blocks of the plugin's block size for the
# prompt, whatever that size is.
PA_BLOCKS = 16


def prompt_ids(model: Path, prompt: str) -> list[int]:
    import openvino_genai

    tok = openvino_genai.Tokenizer(str(model))
    rendered = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True)
    return [int(t) for t in tok.encode(rendered, add_special_tokens=False).input_ids.data[0]]


def by_type(infos, into: dict[str, float]) -> None:
    for i in infos:
        if i.status == i.Status.EXECUTED:
            into[i.node_type] += i.real_time.total_seconds() * 1000.0


def stateful_prefill(compiled, ids: list[int]):
    n = len(ids)
    request = compiled.create_infer_request()
    inputs = {
        "input_ids": np.array([ids], dtype=np.int64),
        "attention_mask": np.ones((1, n), dtype=np.int64),
        "position_ids": np.arange(n, dtype=np.int64)[None, :],
        "beam_idx": np.zeros(1, dtype=np.int32),
    }
    t = time.perf_counter()
    request.infer(inputs)
    return (time.perf_counter() - t) * 1000.0, request


def pa_inputs(compiled, ids: list[int]) -> dict:
    import openvino as ov

    n = len(ids)
    inputs = {
        "input_ids": np.array(ids, dtype=np.int64),
        "position_ids": np.arange(n, dtype=np.int64),
        "past_lens": np.zeros(1, dtype=np.int32),
        "subsequence_begins": np.array([0, n], dtype=np.int32),
        "block_indices": np.arange(PA_BLOCKS, dtype=np.int32),
        "block_indices_begins": np.array([0, PA_BLOCKS], dtype=np.int32),
        "max_context_len": np.array(n, dtype=np.int32),
    }
    for port in compiled.inputs:
        name = port.get_any_name()
        if name.startswith(("key_cache.", "value_cache.")):
            shape = [PA_BLOCKS if d.is_dynamic else d.get_length() for d in port.get_partial_shape()]
            inputs[name] = ov.Tensor(port.get_element_type(), shape)
        elif name not in inputs:
            raise SystemExit(f"the PA model has an input this script does not fill: {name}")
    return inputs


def pa_prefill(compiled, inputs: dict):
    request = compiled.create_infer_request()
    t = time.perf_counter()
    request.infer(inputs)
    return (time.perf_counter() - t) * 1000.0, request


def measure(name: str, run, warmup: int, runs: int) -> dict[str, float]:
    """Print the median infer() time; return the mean per-node-type time of one run, ms."""
    for _ in range(warmup):
        run()
    times, totals = [], defaultdict(float)
    for _ in range(runs):
        ms, request = run()
        times.append(ms)
        by_type(request.profiling_info, totals)
    print(f"{name}: prefill infer() median {statistics.median(times):.1f} ms (min {min(times):.1f}, n={runs})")
    return {k: v / runs for k, v in totals.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/smollm2-135m")
    parser.add_argument("--prompt", default="What is the capital of France?")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()

    import openvino as ov
    from openvino._offline_transformations import paged_attention_transformation

    model = Path(args.model)
    ids = prompt_ids(model, args.prompt)
    print(f"prompt: {len(ids)} tokens; CPU properties: {CPU_REFERENCE}")
    core = ov.Core()
    props = {**CPU_REFERENCE, "PERF_COUNT": True}

    stateful = core.compile_model(core.read_model(model / "openvino_model.xml"), "CPU", props)
    sdpa = measure("SDPA (stateful, bakeoff)", lambda: stateful_prefill(stateful, ids), args.warmup, args.runs)

    pa_model = core.read_model(model / "openvino_model.xml")
    paged_attention_transformation(pa_model)
    paged = core.compile_model(pa_model, "CPU", props)
    inputs = pa_inputs(paged, ids)
    pa = measure("PA (GenAI's default backend)", lambda: pa_prefill(paged, inputs), args.warmup, args.runs)

    print(f"\nper-node-type time of one prefill, ms (plugin counters; top {args.top} by difference)")
    print(f"{'node type':<28}{'SDPA':>9}{'PA':>9}{'SDPA-PA':>10}")
    kinds = sorted(set(sdpa) | set(pa), key=lambda k: -abs(sdpa.get(k, 0.0) - pa.get(k, 0.0)))
    for k in kinds[: args.top]:
        a, b = sdpa.get(k, 0.0), pa.get(k, 0.0)
        print(f"{k:<28}{a:>9.2f}{b:>9.2f}{a - b:>10.2f}")
    ta, tb = sum(sdpa.values()), sum(pa.values())
    print(f"{'all nodes':<28}{ta:>9.2f}{tb:>9.2f}{ta - tb:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
