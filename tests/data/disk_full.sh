# A real full disk for `bakeoff run`, without touching the machine's own file systems: run
# in a private mount namespace (unshare -rm), so the tmpfs below exists for this script only.
#   disk_full.sh MOUNT KEEP BAKEOFF SCENARIO FREE_KIB MODE
# The run folder sits on a 4 MiB tmpfs (its compile cache is a link to KEEP, so only the
# run's own files fill the disk). A filler leaves FREE_KIB free, then:
#   MODE=records:   the run starts on the nearly full disk (its records fill it);
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
  head -c $(( (avail - free_kib) * 1024 )) /dev/zero > "$mnt/filler" || exit 92
}
case $mode in
  records) fill; run full --out "$mnt/run" ;;
  summaries) run before --out "$mnt/run"; fill; run full --resume "$mnt/run" ;;
  *) echo "MODE: records or summaries, not $mode" >&2; exit 93 ;;
esac
rm "$mnt/filler"
run resumed --resume "$mnt/run"
