"""bakeoff's genai cell: openvino-genai's LLMPipeline as a cell process.

Embedded in the bakeoff binary and run with the Python of the venv whose OpenVINO the run
uses. It speaks the cell protocol of `bakeoff cell`: the cell spec as JSON on stdin, one JSON
event per line on stdout (`compiled`, then a `timed_sample` per generation, or `failed` /
`unsupported`). bakeoff's parent process enforces the timeouts, classifies crashes and turns
each timed sample into a sample with the same formulas as its own pipelines: this worker only
clocks. Every token's arrival is timed in GenAI's streamer callback with a monotonic clock
started just before generate(); GenAI's own PerfMetrics are reported beside, never mixed in.
"""

import json
import sys
import time

def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def fail(cls, message):
    emit({"event": "failed", "class": cls, "message": message})
    return 0


def cpu_ms():
    """CPU time of this process, every thread, user and system, ms."""
    return time.process_time() * 1000.0


def main():
    spec = json.load(sys.stdin)
    try:
        import numpy as np
        import openvino as ov
        import openvino_genai as og
    except Exception as e:  # noqa: BLE001: any import failure is the same input error
        return fail("input_error", f"openvino-genai is not importable by {sys.executable}: {e}")

    device = "NPU" if spec["key"]["device"] in ("NPU", "NPU:host") else spec["key"]["device"]
    # The properties as GenAI takes them, named and typed by bakeoff (CACHE_DIR included).
    props = spec["genai_config"]

    def build():
        return og.LLMPipeline(spec["model_dir"], device, **props)

    try:
        if spec["cache_mode"] == "warm":
            # Prime the cache, so the measured construction loads from it.
            del_pipe = build()
            del del_pipe
        started = time.perf_counter()
        pipe = build()
        compile_ms = (time.perf_counter() - started) * 1000.0
    except Exception as e:  # noqa: BLE001: GenAI raises RuntimeError for every plugin failure
        return fail("compile_error", f"openvino_genai.LLMPipeline({spec['model_dir']}, {device}): {e}")
    # GenAI reads, compiles and loads the tokenizer in one constructor: its whole time is
    # reported as the compile; the read is not separable.
    emit({"event": "compiled", "load_ms": 0.0, "compile_ms": compile_ms, "from_cache": None,
          "execution_devices": None})

    class Clock(og.StreamerBase):
        def __init__(self):
            super().__init__()
            self.start = 0.0
            self.token_ms = []
            self.cpu_first = None

        def write(self, token):
            now = (time.perf_counter() - self.start) * 1000.0
            if self.cpu_first is None:
                self.cpu_first = cpu_ms()
            count = len(token) if isinstance(token, list) else 1
            self.token_ms.extend([now] * count)
            return og.StreamingStatus.RUNNING

        def end(self):
            pass

    eos = set(spec["eos_ids"])
    config = og.GenerationConfig()
    config.max_new_tokens = spec["max_new_tokens"]
    config.ignore_eos = spec["ignore_eos"]
    config.do_sample = False
    measure = spec["measure"]
    for rep in range(measure["warmup"] + measure["repetitions"]):
        for prompt in spec["prompts"]:
            ids = prompt["ids"]
            inputs = og.TokenizedInputs(
                ov.Tensor(np.array([ids], dtype=np.int64)), ov.Tensor(np.ones((1, len(ids)), dtype=np.int64))
            )
            clock = Clock()
            cpu_start = cpu_ms()
            clock.start = time.perf_counter()
            try:
                result = pipe.generate(inputs, config, clock)
            except Exception as e:  # noqa: BLE001
                text = str(e)
                if "MAX_PROMPT_LEN" in text or "exceeds" in text:
                    emit({"event": "unsupported", "message": f"prompt `{prompt['id']}`: {text}"})
                    return 0
                return fail("generate_error", f"prompt `{prompt['id']}`: {text}")
            end_ms = (time.perf_counter() - clock.start) * 1000.0
            cpu_end = cpu_ms()
            out = [int(t) for t in result.tokens[0]]
            stop = "eos" if out and out[-1] in eos and not spec["ignore_eos"] else "max_new_tokens"
            perf = result.perf_metrics
            emit({
                "event": "timed_sample",
                "prompt_id": prompt["id"],
                "rep": rep,
                "warmup": rep < measure["warmup"],
                "prompt_tokens": len(ids),
                "output_ids": out,
                "token_ms": clock.token_ms,
                "end_ms": end_ms,
                "stop_reason": stop,
                "cpu_ms": [clock.cpu_first - cpu_start, cpu_end - cpu_start] if clock.cpu_first else None,
                "genai_perf_metrics": {
                    "ttft_ms": perf.get_ttft().mean,
                    "tpot_ms": perf.get_tpot().mean,
                    "throughput_tokens_per_s": perf.get_throughput().mean,
                    "generate_ms": perf.get_generate_duration().mean,
                    "inference_ms": perf.get_inference_duration().mean,
                },
            })
    return 0


if __name__ == "__main__":
    sys.exit(main())
