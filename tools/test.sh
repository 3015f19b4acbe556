#!/usr/bin/env bash
# `make test`: everything `make setup` and `make setup-export` make, then every test binary
# (`cargo test --no-fail-fast`: one failure never hides another's result), rustfmt and
# clippy; the exit is non-zero if anything failed.
#
# On a fresh 2-vCPU machine the set-up is most of the time, and its parts wait on different
# things: the Rust build of bakeoff and its tests on the CPU, the two venvs' pip installs and
# Chromium's apt install on the network and the disk, the bakes and exports on one Python
# thread at a time. So the parts that need nothing of each other overlap:
#   cargo test --no-run ......................................... (background)
#   .venv-export's pip install .................................. (background)
#   Debian's Chromium (setup_chromium.sh) ....................... (background)
#   setup.sh --no-build (venv, bakes, references) -> setup_export.sh (exports, references)
#   setup.sh --lint-only (up to date; waits for the build, lints with the tests' bakeoff)
#     -> the tests
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p target
say() { echo "[test] $*"; }

build_log=target/test-build.log
cargo test --release --no-run --quiet >"$build_log" 2>&1 &
build=$!
export_log=target/setup-export-venv.log
tools/setup_export.sh --venv-only >"$export_log" 2>&1 &
export_venv=$!
chromium_log=target/setup-chromium.log
tools/setup_chromium.sh >"$chromium_log" 2>&1 &
chromium=$!

fail() { say "$1"; kill "$build" "$export_venv" "$chromium" 2>/dev/null; wait; exit 1; }
tools/setup.sh --no-build || fail "set-up failed"
wait "$export_venv" || { cat "$export_log"; fail "the export venv's install failed"; }
cat "$export_log"
tools/setup_export.sh || fail "the exports failed"
wait "$build" || { cat "$build_log"; fail "the build of bakeoff's tests failed"; }
wait "$chromium" || { cat "$chromium_log"; fail "Chromium's install failed"; }
cat "$chromium_log"
tools/setup.sh --lint-only || fail "set-up failed"

status=0
cargo test --release --no-fail-fast || status=1
make --no-print-directory check || status=1
exit $status
