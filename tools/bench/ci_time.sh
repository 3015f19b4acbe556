#!/usr/bin/env bash
# `make ci-time`: a fresh `.ci/run` timed phase by phase, on a clean clone of HEAD (what is
# not committed is not in it) with ../shared beside it and pip's cache off, as CI runs it.
# Prints the report of tools/bench/ci_time.py, CPU features included (figures from machines
# with other CPU features are not comparable), and keeps the stamped log and the clone.
#   CI_TIME_DIR=DIR: where the clone goes (default: a new folder under /tmp).
# Run it as a new user would meet the machine: whatever is already there (the crates
# registry, Chromium) shortens the set-up, and the report says which were.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=$(cd "$repo/../shared" 2>/dev/null && pwd) ||
  { echo "ci_time.sh: no ../shared beside $repo" >&2; exit 2; }
work=${CI_TIME_DIR:-$(mktemp -d /tmp/bakeoff-ci-time.XXXXXX)}
mkdir -p "$work"
[ ! -e "$work/main" ] ||
  { echo "ci_time.sh: $work/main exists; give CI_TIME_DIR a new folder" >&2; exit 2; }
git clone -q "$repo" "$work/main" || exit 2
ln -s "$shared" "$work/shared"

registry=absent; [ ! -d "${CARGO_HOME:-$HOME/.cargo}/registry" ] || registry=present
chromium=absent; ! command -v chromium >/dev/null || chromium=present
before="crates registry $registry, chromium $chromium, pip cache off;"
before+=" commit $(git -C "$repo" rev-parse --short HEAD)"

log=$work/ci.log
echo "[ci-time] .ci/run in $work/main, log $log"
{ echo "[ci-time] start"; cd "$work/main" && PIP_NO_CACHE_DIR=1 .ci/run; } 2>&1 |
  python3 -u "$repo/tools/bench/ci_time.py" stamp >"$log"
status=${PIPESTATUS[0]}
python3 "$repo/tools/bench/ci_time.py" report "$log" --status "$status" \
  --target "$work/main/target" --before "$before"
exit "$status"
