# A real full disk for `bakeoff run`, without touching the machine's own file systems: run
# in a private mount namespace (unshare -rm), so the tmpfs below exists for this script only.
#   disk_full.sh MOUNT KEEP BAKEOFF SCENARIO FREE_KIB MODE
# The run folder sits on a 4 MiB tmpfs (its compile cache is a link to KEEP, so only the
# run's own files fill the disk). A filler leaves FREE_KIB free, and:
#   MODE=records:   the run starts with room; as soon as results.jsonl holds its first cell
#                   outcome, the run is paused (SIGSTOP), the disk filled to FREE_KIB and
#                   the run continued, so its next records fill the disk mid-run whatever
#                   a record, a page or the fingerprint measure on this machine;
#   MODE=summaries: the run first completes with room to spare (KEEP/before), then the disk
#                   is filled and the run resumed: nothing is left to run, only its
#                   summaries and reports to write again.
# The run folder is copied to KEEP/full as the disk left it, the filler removed, the run
# resumed once more and copied to KEEP/resumed. Exit codes and stderr go to KEEP/<stage>.rc/.err.
set -u
mnt=$1 keep=$2 exe=$3 scenario=$4 free_kib=$5 mode=$6
mount -t tmpfs -o size=4m tmpfs "$mnt" || { echo "cannot mount a tmpfs on $mnt" >&2; exit 90; }
mkdir "$mnt/run" "$keep/cache" && ln -s "$keep/cache" "$mnt/run/cache" || exit 91
run() { # stage, bakeoff arguments...
  stage=$1; shift
  "$exe" run "$scenario" "$@" > "$keep/$stage.out" 2> "$keep/$stage.err"
  echo $? > "$keep/$stage.rc"
  cp -a "$mnt/run" "$keep/$stage"
}
fill() {
  avail=$(df -k --output=avail "$mnt" | tail -1)
  # With nothing to leave free, a filler cut short by the full disk has done its job.
  head -c $(( (avail - free_kib) * 1024 )) /dev/zero > "$mnt/filler" 2>/dev/null || [ "$free_kib" = 0 ] || exit 92
}
# The records mode's run: in the background, the disk filled once its first cell is recorded.
run_filled_after_first_cell() {
  "$exe" run "$scenario" --out "$mnt/run" > "$keep/full.out" 2> "$keep/full.err" &
  pid=$!
  until grep -q '"kind":"cell"' "$mnt/run/results.jsonl" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  kill -STOP "$pid" 2>/dev/null && { fill; kill -CONT "$pid"; }
  wait "$pid"
  echo $? > "$keep/full.rc"
  cp -a "$mnt/run" "$keep/full"
}
case $mode in
  records) run_filled_after_first_cell ;;
  summaries) run before --out "$mnt/run"; fill; run full --resume "$mnt/run" ;;
  *) echo "MODE: records or summaries, not $mode" >&2; exit 93 ;;
esac
rm "$mnt/filler"
run resumed --resume "$mnt/run"
