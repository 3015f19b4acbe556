#!/usr/bin/env bash
# The power of bakeoff's verdicts, measured: N trials of A/A and of A/B with a 5% and a 3%
# injected slowdown, on one kvcache CPU cell and one static128 CPU cell of the SmolLM2
# fixture, each trial a `bakeoff ab` one-cell run (interleaved pairs, adaptive length).
# Prints, per cell and condition, the false alarms (A/A: any metric regressed or improved)
# or detections (A/B: decode_tokens_per_s regressed), how many trials exited 3 (any metric
# regressed: what a CI gate sees), the median pairs, the time per trial, the median decode
# change measured and the median pair-ratio standard deviation (the per-pair noise). With --separate K, the first K trials of each condition are also judged the old
# way: two `bakeoff run` folders taken one after the other and `bakeoff compare`, at the
# same 2% threshold, to show what interleaving buys.
#
# The slowdown is the test-only BAKEOFF_TEST_SLOWDOWN (after every measured infer() the
# cell sleeps PCT% of that call's time), confined to the candidate side by
# BAKEOFF_TEST_SLOWDOWN_SIDE: the same relative change on any CPU. Scenarios never set it.
#
# --schedule passes ab's schedule (default: ab's own, steps); --conditions picks the
# conditions as NAME:PCT (default AA:0,AB5:5,AB3:3).
#
# Usage: tools/power.sh [--trials N] [--cells kvcache,static128] [--separate K] [--schedule S] [--conditions LIST] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS=20
CELLS=kvcache,static128
SEPARATE=0
SCHEDULE=
CONDITIONS=AA:0,AB5:5,AB3:3
OUT=reports/power-$(date -u +%Y%m%d-%H%M%S)
while [ $# -gt 0 ]; do
  case $1 in
    --trials) TRIALS=$2; shift 2 ;;
    --cells) CELLS=$2; shift 2 ;;
    --separate) SEPARATE=$2; shift 2 ;;
    --schedule) SCHEDULE=$2; shift 2 ;;
    --conditions) CONDITIONS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: tools/power.sh [--trials N] [--cells kvcache,static128] [--separate K] [--schedule S] [--conditions LIST] [--out DIR]" >&2; exit 2 ;;
  esac
done
BAKEOFF=${BAKEOFF:-./target/release/bakeoff}
MODEL=models/smollm2-135m
PROMPT="What is the capital of France?"
PY=.venv/bin/python
mkdir -p "$OUT"
TABLE="$OUT/trials.tsv"
[ -f "$TABLE" ] || printf 'cell\tcondition\ttrial\tmethod\texit\tflagged\tdecode_change\tdecode_ci_low\tdecode_ci_high\tpairs\tseconds\tpair_sd\n' > "$TABLE"
echo "[power] $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); ISA: $(grep -m1 flags /proc/cpuinfo | grep -o 'avx512[a-z_0-9]*\|avx2\|amx[a-z_0-9]*\|avx_vnni' | sort -u | xargs)" | tee "$OUT/machine.txt"

tokens_of() { case $1 in kvcache) echo 32 ;; static128) echo 16 ;; esac; }

# One interleaved trial: bakeoff ab, its JSON read back for the verdicts.
ab_trial() { # CELL CONDITION PCT TRIAL
  local cell=$1 cond=$2 pct=$3 trial=$4 dir="$OUT/$1-$2-$4"
  [ -f "$dir/ab.json" ] && return 0
  rm -rf "$dir"
  local start end code=0
  start=$(date +%s.%N)
  if [ "$pct" = 0 ]; then
    "$BAKEOFF" -q ab --baseline-model "$MODEL" --pipeline "$cell" --device CPU --prompt "$PROMPT" \
      --max-new-tokens "$(tokens_of "$cell")" --ignore-eos --seed "$trial" ${SCHEDULE:+--schedule "$SCHEDULE"} --out "$dir" --format json >/dev/null || code=$?
  else
    BAKEOFF_TEST_SLOWDOWN=$pct BAKEOFF_TEST_SLOWDOWN_SIDE=candidate \
      "$BAKEOFF" -q ab --baseline-model "$MODEL" --pipeline "$cell" --device CPU --prompt "$PROMPT" \
      --max-new-tokens "$(tokens_of "$cell")" --ignore-eos --seed "$trial" ${SCHEDULE:+--schedule "$SCHEDULE"} --out "$dir" --format json >/dev/null || code=$?
  fi
  end=$(date +%s.%N)
  "$PY" - "$dir/ab.json" "$cell" "$cond" "$trial" "$code" "$start" "$end" >> "$TABLE" <<'PY'
import json, sys
path, cell, cond, trial, code, start, end = sys.argv[1:]
r = json.load(open(path))
c = r["cells"][0]
d = next(m for m in c["metrics"] if m["metric"] == "decode_tokens_per_s")
verdicts = [m["verdict"] for m in c["metrics"]]
if cond == "AA":
    flagged = any(v in ("regressed", "improved") for v in verdicts)
else:
    flagged = d["verdict"] == "regressed"
ch = d["change"] or {}
print("\t".join(map(str, [cell, cond, trial, c.get("schedule") or "interleaved", code, int(flagged), ch.get("relative"), ch.get("ci_low"), ch.get("ci_high"), c["pairs"], round(float(end) - float(start), 1), d.get("pair_ratio_sd")])))
PY
}

# One separate-folders trial: a baseline run, then a candidate run, then compare.
separate_trial() { # CELL CONDITION PCT TRIAL
  local cell=$1 cond=$2 pct=$3 trial=$4 dir="$OUT/sep-$1-$2-$4"
  [ -f "$dir/compare.json" ] && return 0
  rm -rf "$dir" && mkdir -p "$dir"
  local scenario="$dir/scenario.toml" start end code=0
  cat > "$scenario" <<TOML
name = "power-separate"
[[models]]
path = "$PWD/$MODEL"
[[prompts.inline]]
id = "capital"
prompt = "$PROMPT"
[matrix]
pipelines = ["$cell"]
devices = ["CPU"]
profiles = ["reference"]
[generation]
max_new_tokens = $(tokens_of "$cell")
ignore_eos = true
[measure]
warmup = 1
repetitions = 30
[compare.noise]
decode_tokens_per_s = 0.02
TOML
  start=$(date +%s.%N)
  "$BAKEOFF" -q run "$scenario" --out "$dir/baseline" >/dev/null 2>&1 || true
  if [ "$pct" = 0 ]; then
    "$BAKEOFF" -q run "$scenario" --out "$dir/candidate" >/dev/null 2>&1 || true
  else
    BAKEOFF_TEST_SLOWDOWN=$pct "$BAKEOFF" -q run "$scenario" --out "$dir/candidate" >/dev/null 2>&1 || true
  fi
  "$BAKEOFF" -q compare "$dir/baseline" "$dir/candidate" --out "$dir" >/dev/null 2>&1 || code=$?
  end=$(date +%s.%N)
  "$PY" - "$dir/compare.json" "$cell" "$cond" "$trial" "$code" "$start" "$end" >> "$TABLE" <<'PY'
import json, sys
path, cell, cond, trial, code, start, end = sys.argv[1:]
r = json.load(open(path))
c = r["cells"][0]
d = next(m for m in c["metrics"] if m["metric"] == "decode_tokens_per_s")
flagged = d["verdict"] in ("regressed", "improved") if cond == "AA" else d["verdict"] == "regressed"
ch = d["change"] or {}
print("\t".join(map(str, [cell, cond, trial, "separate", code, int(flagged), ch.get("relative"), ch.get("ci_low"), ch.get("ci_high"), 30, round(float(end) - float(start), 1), None])))
PY
}

for trial in $(seq 1 "$TRIALS"); do
  # Cells and conditions alternate within a trial round, so slow minutes of the machine are
  # spread over all of them, and a run stopped early has as many trials of each.
  for cell in ${CELLS//,/ }; do
    for cond in ${CONDITIONS//,/ }; do
      ab_trial "$cell" "${cond%%:*}" "${cond##*:}" "$trial"
      if [ "$trial" -le "$SEPARATE" ]; then
        separate_trial "$cell" "${cond%%:*}" "${cond##*:}" "$trial"
      fi
    done
  done
  echo "[power] trial round $trial/$TRIALS done"
done

"$PY" - "$TABLE" <<'PY' | tee "$OUT/power.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print("| cell | method | condition | trials | flagged | exit 3 | median pairs | median s/trial | max s/trial | median decode change | median pair-ratio sd |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
pct = lambda cond: 0.0 if cond == "AA" else float(cond[2:])
keys = sorted({(r["cell"], r["method"], r["condition"]) for r in rows}, key=lambda k: (k[0], k[1], pct(k[2])))
for cell, method, cond in keys:
    rs = [r for r in rows if (r["cell"], r["method"], r["condition"]) == (cell, method, cond)]
    flagged = sum(int(r["flagged"]) for r in rs)
    secs = [float(r["seconds"]) for r in rs]
    changes = [float(r["decode_change"]) for r in rs if r["decode_change"] not in ("None", "")]
    name = "A/A" if cond == "AA" else f"A/B {cond[2:]}% slower"
    med = f"{100 * statistics.median(changes):+.2f}%" if changes else "-"
    sds = [float(r["pair_sd"]) for r in rs if r.get("pair_sd") not in (None, "None", "")]
    sd = f"{100 * statistics.median(sds):.1f}%" if sds else "-"
    exit3 = sum(r["exit"] == "3" for r in rs)
    print(f"| {cell} | {method} | {name} | {len(rs)} | {flagged} | {exit3} | {statistics.median(int(r['pairs']) for r in rs):.0f} | {statistics.median(secs):.0f} | {max(secs):.0f} | {med} | {sd} |")
PY
