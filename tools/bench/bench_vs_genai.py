#!/usr/bin/env python3
"""bakeoff's kvcache pipeline against openvino-genai's LLMPipeline, side by side.

Same baked IR, same prompt ids (the chat prompt rendered and tokenized by GenAI), greedy,
f32 (`reference` profile / the same CPU properties), the same number of new tokens with
ignore_eos. Runs are interleaved A B C D A B C D ...: each A is one measured bakeoff
generation (`bakeoff generate --warmup W`, a process of its own; on CPU with a warm compile cache);
B, C and D one measured generation of a GenAI pipeline loaded once and warmed up:

- SDPA: the stateful IR as it is, what bakeoff runs;
- PA: GenAI's default CPU backend (the IR transformed to paged attention, GenAI's
  latency-oriented scheduler config) with prefix caching off, so that every generation
  computes its prompt, as bakeoff does;
- PA+prefix: GenAI's LLMPipeline exactly as it comes, prefix caching on. The benchmark
  repeats one prompt, so from the second generation on its prompt's KV blocks come from the
  cache and its TTFT is a cache hit, not a prefill. Shown for what a user of the default
  sees; the goal is judged against the two that do the same work.

Prints medians with 95% bootstrap intervals of decode tokens/s and TTFT, the paired ratios
bakeoff/GenAI for each (the median of the per-round ratios) with their intervals, and whether
the ids were identical.

With --device NPU:host both run the NPU plugin's NPUW LLM pipeline executed by the host:
bakeoff's kvcache pipeline on NPU:host under --profile (conservative by default) against
GenAI's own NPU path, LLMPipeline(model, "NPU", ...) with the very properties that profile
resolves to on NPU:host (`bakeoff profiles show --format json`; the NPUW_LLM lengths as
GenAI's MAX_PROMPT_LEN and MIN_RESPONSE_LEN). Host execution, never NPU silicon figures.

With --fresh-prompts every round asks a new question (the same one of all four), so GenAI's
prefix cache can only reuse the chat template's common start: GenAI as it comes, on prompts
it has not seen. The figures it gave are in the README ("Performance").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "references"))  # the GenAI reference settings and generation

from reference import CPU_REFERENCE, generate, npu_settings  # noqa: E402


def bootstrap_median(values: list[float], resamples: int = 4000, seed: int = 7) -> tuple[float, float, float]:
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return statistics.median(values), meds[int(0.025 * resamples)], meds[int(0.975 * resamples)]


def bootstrap_paired_ratio(a: list[float], b: list[float], resamples: int = 4000, seed: int = 11):
    """The median of the per-round ratios a/b, with a 95% bootstrap interval. Each round's two
    figures were taken seconds apart, so the machine's minute-to-minute drift (up to 50% on
    these VMs) cancels in the ratio instead of widening it."""
    return bootstrap_median([x / y for x, y in zip(a, b)], resamples, seed)


def genai_run(pipe, ids: list[int], max_new_tokens: int) -> tuple[float, float, list[int]]:
    result = generate(pipe, ids, max_new_tokens, ignore_eos=True)
    m = result.perf_metrics
    return m.get_ttft().mean, 1000.0 / m.get_tpot().mean, [int(t) for t in result.tokens[0]]


def bakeoff_run(exe: str, model: str, device: str, profile: str, ids: list[int], max_new_tokens: int, warmup: int,
                cache: str):
    cmd = [
        exe, "generate", "--model", model, "--pipeline", "kvcache", "--device", device, "--profile", profile,
        "--prompt-ids", ",".join(map(str, ids)), "--max-new-tokens", str(max_new_tokens),
        "--ignore-eos", "--warmup", str(warmup), "--format", "json",
    ]
    if device == "CPU":
        # A warm compile cache on CPU. On NPU:host each process compiles, as GenAI's NPU
        # pipeline here does: NPUW's own export and import are not what is compared.
        cmd += ["--cache-dir", cache]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return out["ttft_ms"], out["decode_tokens_per_s"], out["output_ids"], out["overhead_ms_per_token"], out["infer_ms_per_token"]


# The configurations the goal is judged against: the same work as bakeoff's.
SAME_WORK = ("SDPA", "PA", "NPU")


def profile_npu_properties(exe: str, model: str, profile: str) -> dict[str, str]:
    """What `profile` sets on NPU:host for kvcache (not the keys left at the plugin's
    default), as GenAI's NPU path takes it: the NPUW_LLM lengths under GenAI's own names."""
    cmd = [exe, "profiles", "show", profile, "--device", "NPU:host", "--pipeline", "kvcache", "--model", model,
           "--format", "json"]
    shown = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    props = {p["key"]: p["value"] for p in shown["properties"] if not p["origin"].startswith("left")}
    mpl = int(props.pop("NPUW_LLM_MAX_PROMPT_LEN"))
    mrl = int(props.pop("NPUW_LLM_MIN_RESPONSE_LEN"))
    return npu_settings(mpl, mrl, props)


def backends(device: str, npu: dict[str, str] | None) -> dict[str, tuple[str, dict]]:
    """GenAI configurations by label: the OpenVINO device and LLMPipeline keyword arguments."""
    import openvino_genai

    if device == "NPU:host":
        return {"NPU": ("NPU", npu)}

    # GenAI's own default for PA (utils::get_latency_oriented_scheduler_config): no limit on
    # batched tokens, prefix caching on. The same, with prefix caching off:
    no_prefix = openvino_genai.SchedulerConfig()
    no_prefix.max_num_batched_tokens = sys.maxsize
    no_prefix.enable_prefix_caching = False
    return {
        "SDPA": ("CPU", {"ATTENTION_BACKEND": "SDPA", **CPU_REFERENCE}),
        "PA": ("CPU", {"ATTENTION_BACKEND": "PA", "scheduler_config": no_prefix, **CPU_REFERENCE}),
        "PA+prefix": ("CPU", {"ATTENTION_BACKEND": "PA", **CPU_REFERENCE}),
    }


def cpu_features() -> str:
    """The CPU model and the instruction sets that decide OpenVINO's CPU kernels."""
    info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    isa = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{model}, {os.cpu_count()} vCPU, {' '.join(isa) or 'no AVX2'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/smollm2-135m")
    parser.add_argument("--bakeoff", default="target/release/bakeoff")
    parser.add_argument("--device", default="CPU", choices=["CPU", "NPU:host"])
    parser.add_argument("--profile", help="bakeoff's profile (default: reference on CPU, conservative on NPU:host)")
    parser.add_argument("--prompt", default="What is the capital of France?")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--pairs", type=int, default=10, help="interleaved rounds")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--fresh-prompts", action="store_true",
                        help="a new question every round (the same for all), so a prefix cache can reuse"
                             " only the chat template's common start")
    args = parser.parse_args()

    import openvino_genai

    profile = args.profile or ("reference" if args.device == "CPU" else "conservative")
    npu = profile_npu_properties(args.bakeoff, args.model, profile) if args.device == "NPU:host" else None
    if npu:
        print(f"GenAI's NPU path with {npu}")
    pipes = {b: openvino_genai.LLMPipeline(args.model, dev, **kw) for b, (dev, kw) in backends(args.device, npu).items()}
    tok = next(iter(pipes.values())).get_tokenizer()
    labels = list(pipes)

    def prompt_ids(text: str) -> list[int]:
        rendered = tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True)
        return tok.encode(rendered, add_special_tokens=False).input_ids.data[0].tolist()

    ids = prompt_ids(args.prompt)
    for pipe in pipes.values():
        for _ in range(args.warmup):
            genai_run(pipe, ids, args.max_new_tokens)

    ttft = {"bakeoff": [], **{b: [] for b in labels}}
    tps = {"bakeoff": [], **{b: [] for b in labels}}
    overhead = []
    identical = True
    with tempfile.TemporaryDirectory(prefix="bakeoff-vs-genai-") as cache:
        for i in range(args.pairs):
            if args.fresh_prompts:
                ids = prompt_ids(f"Question {i + 1}: {args.prompt}")
            t, r, a_ids, over, infer = bakeoff_run(
                args.bakeoff, args.model, args.device, profile, ids, args.max_new_tokens, args.warmup, cache
            )
            ttft["bakeoff"].append(t)
            tps["bakeoff"].append(r)
            overhead.append(100.0 * over / (over + infer))
            for b in labels:
                t, r, b_ids = genai_run(pipes[b], ids, args.max_new_tokens)
                ttft[b].append(t)
                tps[b].append(r)
                identical &= a_ids == b_ids
            print(f"round {i + 1}/{args.pairs}: " + " | ".join(
                f"{k} {tps[k][-1]:.1f} tok/s TTFT {ttft[k][-1]:.1f} ms" for k in tps), flush=True)

    def show(name: str, values: list[float], unit: str) -> None:
        med, lo, hi = bootstrap_median(values)
        print(f"  {name:<34} median {med:8.2f} {unit}  95% [{lo:.2f}, {hi:.2f}]")

    prompts = "a new question each round" if args.fresh_prompts else "the same prompt each round"
    print(f"\n{args.model}: {prompts}, {len(ids)} prompt tokens, {args.max_new_tokens} new tokens, {args.pairs} interleaved rounds,"
          f" {args.warmup} warm-up each, on {args.device}, bakeoff profile {profile}"
          + (" (f32, GenAI with the same CPU settings)" if args.device == "CPU" else
             " (NPUW executed by the host, GenAI's NPU path with the same properties; not NPU silicon)"))
    print(f"  CPU: {cpu_features()}")
    for k in tps:
        label = "bakeoff kvcache" if k == "bakeoff" else f"openvino-genai {k}"
        show(f"{label} decode", tps[k], "tok/s")
        show(f"{label} TTFT", ttft[k], "ms")
    show("bakeoff overhead share", overhead, "%")
    for b in labels:
        goal = b in SAME_WORK
        r, lo, hi = bootstrap_paired_ratio(tps["bakeoff"], tps[b])
        note = "(goal >= 1.00)" if goal else "(information)"
        print(f"  decode tokens/s ratio bakeoff/genai-{b}: {r:.3f}  95% [{lo:.3f}, {hi:.3f}]  {note}")
        r, lo, hi = bootstrap_paired_ratio(ttft["bakeoff"], ttft[b])
        cached = "its prefix cache serves only the template's common start" if args.fresh_prompts else (
            "its TTFT is a prefix-cache hit, not a prefill")
        note = "(goal <= 1.00)" if goal else f"(information: GenAI as it comes; {cached})"
        print(f"  TTFT ratio bakeoff/genai-{b}:            {r:.3f}  95% [{lo:.3f}, {hi:.3f}]  {note}")
    print(f"  identical ids in every round: {'yes' if identical else 'NO'}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
