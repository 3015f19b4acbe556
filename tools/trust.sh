#!/usr/bin/env bash
# Trust in `bakeoff ab`'s verdicts, measured on this machine, in one go (the figures of the
# README's "Trust in the verdicts" come from it; run it on each CPU type):
#
#  1. A mixed A/A run of the kvcache CPU cell of the SmolLM2 fixture (each pair taken by
#     whole generations or with its decode steps interleaved, at random): both schedules'
#     per-pair noise and what interleaving steps costs a step, from one run (its ab.md).
#  2. An A/A recording per schedule (steps, alternate), --minutes each, every pair kept.
#  3. `bakeoff power` on each recording: --trials simulated trials at 0, 1, 2, 3 and 5%
#     injected change, the exact length rule and verdict, rounds resampled whole.
#  4. tools/power.sh: --real real trials per condition (A/A, 3%, 1%) on the same cell with
#     the default schedule.
#
# Everything goes under --out (default reports/trust-<UTC time>); trust.md gathers the
# tables with the machine they came from. Steps already done are skipped on a rerun with
# the same --out.
#
# Usage: tools/trust.sh [--minutes M] [--trials N] [--real K] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=8
TRIALS=1000
REAL=10
OUT=reports/trust-$(date -u +%Y%m%d-%H%M%S)
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) MINUTES=$2; shift 2 ;;
    --trials) TRIALS=$2; shift 2 ;;
    --real) REAL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: tools/trust.sh [--minutes M] [--trials N] [--real K] [--out DIR]" >&2; exit 2 ;;
  esac
done
BAKEOFF=${BAKEOFF:-./target/release/bakeoff}
MODEL=models/smollm2-135m
PROMPT="What is the capital of France?"
mkdir -p "$OUT"
MACHINE="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs; ISA: $(grep -m1 flags /proc/cpuinfo | grep -o 'avx512[a-z_0-9]*\|avx2\|amx[a-z_0-9]*\|avx_vnni' | sort -u | xargs)"
echo "[trust] $MACHINE" | tee "$OUT/machine.txt"

# An A/A run of the cell: SCHEDULE DIR MINUTES (every pair until the time cap).
a_a() {
  [ -f "$2/ab.json" ] && return 0
  rm -rf "$2"
  "$BAKEOFF" -q ab --baseline-model "$MODEL" --pipeline kvcache --device CPU --prompt "$PROMPT" \
    --max-new-tokens 32 --ignore-eos --schedule "$1" --min-pairs 100000 --max-pairs 100000 \
    --max-minutes "$3" --seed 11 --out "$2" --format json >/dev/null
}

echo "[trust] mixed A/A, $MINUTES minutes"
a_a mixed "$OUT/mixed" "$MINUTES"
for s in steps alternate; do
  echo "[trust] A/A recording, $s, $MINUTES minutes"
  a_a "$s" "$OUT/aa-$s" "$MINUTES"
done
for s in steps alternate; do
  if [ ! -f "$OUT/power-$s.md" ]; then
    echo "[trust] replay of the $s recording, $TRIALS trials a change"
    "$BAKEOFF" power "$OUT/aa-$s" --trials "$TRIALS" --out "$OUT/power-$s.json" > "$OUT/power-$s.md"
  fi
done
echo "[trust] real trials: $REAL per condition"
tools/power.sh --trials "$REAL" --cells kvcache --conditions AA:0,AB3:3,AB1:1 --out "$OUT/real" >/dev/null

{
  echo "# Trust in the verdicts: $MACHINE"
  echo
  echo "## Both schedules in one mixed A/A run"
  sed -n '/^### Schedules compared/,/^## /p' "$OUT/mixed/ab.md" | grep -v '^## '
  for s in steps alternate; do
    echo
    sed 's/^# /## /' "$OUT/power-$s.md"
  done
  echo
  echo "## Real trials (tools/power.sh)"
  echo
  cat "$OUT/real/power.md"
} > "$OUT/trust.md"
echo "[trust] $OUT/trust.md"
