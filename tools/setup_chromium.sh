#!/usr/bin/env bash
# Debian's Chromium, for the report test, which renders report.html in it headless. Idempotent.
# Its own script because it waits on the network and dpkg, not the CPU: `make test`
# (tools/test.sh) runs it in the background beside the CPU-bound set-up, `make setup` in line.
set -euo pipefail
say() { echo "[setup] $*"; }
if command -v chromium >/dev/null 2>&1; then
  say "chromium: present"
  exit 0
fi
say "installing Debian's chromium (headless rendering of report.html in the tests)"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || {
  $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null
}
say "chromium: installed"
