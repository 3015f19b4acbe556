# bakeoff: the two commands a fresh machine needs are `make demo` and `make test`;
# both run `make setup` first, test also `make setup-export` (idempotent: a second run does
# nothing and says so).
.PHONY: setup setup-previous setup-export setup-large npu-host-long-reference scale npu-host-size long-context qualify demo test check fmt clippy clean-models speed bench ci-time bench-vs-genai bench-vs-genai-large profile-prefill soak examples trust

BAKEOFF := ./target/release/bakeoff
MODEL := models/smollm2-135m

setup:
	@tools/setup.sh

# The previous OpenVINO release (2026.3.1) in .venv-previous, for stack-upgrade qualification.
setup-previous:
	@tools/setup_previous.sh

# Real optimum-intel exports of the SmolLM2 fixture (INT8, INT4-sym) in models/exports/, made
# with the export tooling's own venv (.venv-export, 4.7 GB); tests/export.rs needs them.
setup-export: setup
	@tools/setup_export.sh

# Opt-in, not in CI: Qwen3 at real sizes (seeded weights, the real tokenizer, INT4 symmetric
# channel-wise) for scenarios/scale.toml. LARGE="qwen3-0.6b qwen3-1.7b" adds the 1.7B one.
LARGE ?= qwen3-0.6b
setup-large: setup
	@for m in $(LARGE); do .venv/bin/python tools/bake/bake.py $$m --out models/$$m --weights int4_sym_cw || exit 1; \
	  $(BAKEOFF) lint models/$$m || exit 1; done

# The long-context ladder (229 to 3987 prompt tokens) on CPU and NPU:host, about 12 minutes.
long-context: setup
	$(BAKEOFF) run scenarios/long-context.toml

# GenAI's NPU path on the host at every rung of the ladder (aggressive's window and generate
# hint; `make setup` makes the rung the tests generate), for
# `cargo test --release --test long_context -- --ignored` (about two minutes).
npu-host-long-reference: setup
	tools/references/npu_host_long.sh $(MODEL) $(MODEL)/reference/genai-npu-host-long-all.json

# The model-size scenario on the large fixture.
scale: setup-large
	$(BAKEOFF) run scenarios/scale.toml

# NPU:host at Qwen3-0.6B with bakeoff's host execution settings and with NPUW's own, beside
# CPU (about 15 minutes).
npu-host-size: setup-large
	$(BAKEOFF) run scenarios/npu-host-size.toml

# scenarios/driver-qualification.toml as one `bakeoff ab` of OpenVINO 2026.3.1 against 2026.4.1:
# speed, compile, memory, outputs and the cache across stacks, one PASS/FAIL.
qualify: setup setup-previous
	tools/qualify.sh

# Trust in `bakeoff ab`'s verdicts on this machine (about 2 hours): both schedules' noise,
# A/A recordings, 1000 replayed trials per change (`bakeoff power`), 10 real trials per
# condition (tools/power.sh); reports/trust-<time>/trust.md.
trust: setup
	tools/trust.sh

demo: setup
	$(BAKEOFF) devices
	$(BAKEOFF) generate --model $(MODEL) --pipeline kvcache --prompt "What is the capital of France?" --max-new-tokens 48
	$(BAKEOFF) run scenarios/smoke.toml

# setup and setup-export (their independent parts overlapping with the build of the tests),
# then every test binary even when one fails (--no-fail-fast), fmt and clippy; the exit is
# non-zero if anything failed.
test:
	@tools/test.sh

# Quick side-by-side speeds on one prompt: bakeoff's two pipelines and openvino-genai.
speed: setup
	$(BAKEOFF) generate --model $(MODEL) --pipeline kvcache --prompt "What is the capital of France?" --max-new-tokens 48 --ignore-eos >/dev/null
	$(BAKEOFF) generate --model $(MODEL) --pipeline static128 --prompt "What is the capital of France?" --max-new-tokens 48 --ignore-eos >/dev/null
	.venv/bin/python tools/bench/genai_speed.py --model $(MODEL) --max-new-tokens 48

# bakeoff's kvcache against openvino-genai (SDPA, PA, PA with prefix caching), interleaved,
# with ratios: one prompt repeated, then a new question every round (about 2 minutes each).
bench-vs-genai: setup
	.venv/bin/python tools/bench/bench_vs_genai.py --model $(MODEL) --pairs 40
	.venv/bin/python tools/bench/bench_vs_genai.py --model $(MODEL) --pairs 40 --fresh-prompts

# The same at Qwen3-0.6B (`make setup-large`): on CPU against SDPA and PA, and on NPU:host
# against GenAI's own NPU path executed by the host, same properties (about 10 minutes).
bench-vs-genai-large: setup-large
	.venv/bin/python tools/bench/bench_vs_genai.py --model models/qwen3-0.6b --pairs 12
	.venv/bin/python tools/bench/bench_vs_genai.py --model models/qwen3-0.6b --pairs 12 --device NPU:host

# Where one prefill's time goes, per node type: the stateful IR against paged attention.
profile-prefill: setup
	.venv/bin/python tools/bench/profile_prefill.py --model $(MODEL)

# The smoke matrix ten times in one bakeoff process (about 20 minutes): soak.md.
soak: setup
	$(BAKEOFF) run scenarios/soak.toml

# criterion benches of the harness's per-token work (argmax, window, filter, metrics).
bench: setup
	cargo bench --bench hot_paths

# How long a fresh `.ci/run` takes here, phase by phase, with the CPU it ran on (a clean clone
# of HEAD in /tmp; about 25 minutes): README "How long it takes".
ci-time:
	tools/bench/ci_time.sh

# reports/examples/smoke: one real smoke run's records and every report made from them, the
# format the README shows. tests/examples.rs fails when the reports no longer match what
# this bakeoff makes from those records: run this again then. PNGs are left out (the SVGs
# are the same charts; report.html inlines them).
examples: setup
	rm -rf reports/examples/smoke
	tmp=$$(mktemp -d) && $(BAKEOFF) run scenarios/smoke.toml --out $$tmp/run >/dev/null && \
	  $(BAKEOFF) merge --out reports/examples/smoke $$tmp/run >/dev/null; status=$$?; rm -rf $$tmp; exit $$status
	rm -f reports/examples/smoke/*.png reports/examples/smoke/.bakeoff-writer.lock

check: fmt clippy

fmt:
	cargo fmt --check

clippy:
	cargo clippy --release --all-targets -- -D warnings

clean-models:
	rm -rf models
