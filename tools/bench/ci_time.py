#!/usr/bin/env python3
"""How long a fresh `.ci/run` takes, phase by phase, with what makes the figure comparable.

Used by tools/bench/ci_time.sh (`make ci-time`); standard library only, because it runs
before the set-up has made any venv.

  ci_time.py stamp                 copy stdin to stdout, each line prefixed by the epoch
                                   seconds it arrived at and a tab
  ci_time.py report LOG --status N --target DIR --before TEXT
                                   the phases of a stamped `.ci/run` log

A figure taken on one machine says nothing about another with other CPU features (the same
build runs 2-5x slower on an AVX2-only VM than on an AVX-512 one), so the report names the
CPU twice: as /proc/cpuinfo has it, and as the CPU itself reports it through glibc's
hwcaps level (x86-64-v4 is AVX-512 F/BW/CD/DQ/VL). The two differ under
`as-host.sh`, which rewrites /proc/cpuinfo only: the hardware's level is what the time
belongs to.
"""

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

# Markers the set-up and cargo print (tools/setup.sh, tools/setup_export.sh, cargo test).
BAKED = "[bake] "
REFERENCES_READY = "[setup] models and references ready"
EXPORTS_READY = "[setup-export] ready"
TEST_BINARY = re.compile(r"^\s+Running (?:unittests )?(\S+)")
TEST_RESULT = "test result: "


def stamp() -> None:
    for line in sys.stdin:
        sys.stdout.write(f"{time.time():.1f}\t{line}")
        sys.stdout.flush()


def read_log(path: Path) -> list[tuple[float, str]]:
    rows = []
    for raw in path.read_text(errors="replace").splitlines():
        at, _, text = raw.partition("\t")
        try:
            rows.append((float(at), text))
        except ValueError:
            continue
    return rows


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {round(seconds % 60):2d} s"


def last_at(rows, predicate):
    hits = [at for at, text in rows if predicate(text)]
    return hits[-1] if hits else None


def first_at(rows, predicate):
    return next((at for at, text in rows if predicate(text)), None)


def test_binaries(rows) -> tuple[list[tuple[str, float]], float | None]:
    """Each test binary's wall time (from its `Running` line to its `test result` line), and
    when the last one ended."""
    times, current, end = [], None, None
    for at, text in rows:
        m = TEST_BINARY.match(text)
        if m:
            current = (m.group(1), at)
        elif TEST_RESULT in text and current:
            times.append((current[0], at - current[1]))
            end, current = at, None
    return times, end


def cpuinfo_field(cpuinfo: str, name: str) -> str:
    """The first value of a /proc/cpuinfo field ("" when it is missing)."""
    m = re.search(rf"^{name}\s*:\s*(.*)$", cpuinfo, re.M)
    return m.group(1).strip() if m else ""


def cpu_description() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    flags = set(cpuinfo_field(cpuinfo, "flags").split())
    named = [f for f in ("avx2", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                         "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile") if f in flags]
    cores = len(re.findall(r"^processor\s*:", cpuinfo, re.M))
    level = hwcaps_level()
    name = cpuinfo_field(cpuinfo, "model name") or "unknown CPU"
    said = f"{name}, {cores} vCPU, /proc/cpuinfo: {' '.join(named)}; by CPUID (glibc-hwcaps): {level}"
    if level == "x86-64-v4" and "avx512f" not in flags:
        said += (" -- /proc/cpuinfo is masked (as-host.sh?): the hardware has AVX-512,"
                 " the time is that machine's")
    return said


def hwcaps_level() -> str:
    for loader in ("/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"):
        try:
            run = subprocess.run([loader, "--help"], capture_output=True, text=True, check=False)
            out = run.stdout
        except OSError:
            continue
        levels = re.findall(r"^\s+(x86-64-v\d) \(supported", out, re.M)
        if levels:
            return max(levels)
    return "unknown (no glibc loader that reports it)"


def build_done(target: Path) -> float | None:
    """When the build of the tests ended: the newest test binary's modification time."""
    deps = target / "release" / "deps"
    if not deps.is_dir():
        return None
    binaries = [p for p in deps.iterdir() if p.is_file() and re.search(r"-[0-9a-f]{16}$", p.name)]
    return max((p.stat().st_mtime for p in binaries), default=None)


def report(log: Path, status: int, target: Path, before: str) -> None:
    rows = read_log(log)
    if not rows:
        sys.exit(f"ci_time.py: {log} holds no stamped lines")
    start, end = rows[0][0], rows[-1][0]
    binaries, tests_end = test_binaries(rows)
    setup_end = first_at(rows, lambda t: TEST_BINARY.match(t) is not None)
    print(f"fresh .ci/run: {minutes(end - start)}, exit {status}")
    print(f"  CPU: {cpu_description()}")
    print(f"  before: {before}")
    references_ready = first_at(rows, lambda t: t.startswith(REFERENCES_READY))
    # The lint pass runs the (then idle) bakes again: the bakes end before the references.
    set_up_rows = [r for r in rows if references_ready is None or r[0] <= references_ready]
    phases = [
        ("venv and bakes", last_at(set_up_rows, lambda t: t.startswith(BAKED))),
        ("references", references_ready),
        ("exports", first_at(rows, lambda t: t.startswith(EXPORTS_READY))),
        ("lint, until the first test binary", setup_end),
    ]
    print(f"  set-up: {minutes(setup_end - start) if setup_end else 'did not finish'}")
    previous = start
    for name, at in phases:
        if at is not None:
            print(f"    {name:<34} {minutes(at - previous)}")
            previous = at
    built = build_done(target)
    if built is not None:
        print(f"    (the build of bakeoff's tests, beside it, ended after "
              f"{minutes(built - start)})")
    if binaries and tests_end is not None:
        print(f"  test binaries: {minutes(tests_end - setup_end)}")
        for name, seconds in sorted(binaries, key=lambda b: -b[1])[:8]:
            print(f"    {name:<34} {seconds:5.0f} s")
        print(f"  fmt and clippy: {minutes(end - tests_end)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("stamp")
    rep = sub.add_parser("report")
    rep.add_argument("log", type=Path)
    rep.add_argument("--status", type=int, required=True)
    rep.add_argument("--target", type=Path, required=True)
    rep.add_argument("--before", default="not recorded")
    args = parser.parse_args()
    if args.command == "stamp":
        stamp()
    else:
        report(args.log, args.status, args.target, args.before)


if __name__ == "__main__":
    main()
