# A real full disk for `bakeoff run`, without touching the machine's own file systems: run
# in a private mount namespace (unshare -rm), so the tmpfs below exists for this script only.
#   disk_full.sh MOUNT KEEP BAKEOFF SCENARIO FREE_KIB
# The run folder sits on a 4 MiB tmpfs filled to FREE_KIB free (its compile cache is a link
# to KEEP, so only the run's own records fill the disk). The run is copied to KEEP/full as
# the disk left it, the filler is removed, the run is resumed, and copied to KEEP/resumed.
set -u
mnt=$1 keep=$2 exe=$3 scenario=$4 free_kib=$5
mount -t tmpfs -o size=4m tmpfs "$mnt" || { echo "cannot mount a tmpfs on $mnt" >&2; exit 90; }
mkdir "$mnt/run" "$keep/cache" && ln -s "$keep/cache" "$mnt/run/cache" || exit 91
head -c $(( (4096 - free_kib) * 1024 )) /dev/zero > "$mnt/filler" || exit 92
"$exe" run "$scenario" --out "$mnt/run" > "$keep/full.out" 2> "$keep/full.err"
echo $? > "$keep/full.rc"
cp -a "$mnt/run" "$keep/full"
rm "$mnt/filler"
"$exe" run "$scenario" --resume "$mnt/run" > "$keep/resumed.out" 2> "$keep/resumed.err"
echo $? > "$keep/resumed.rc"
cp -a "$mnt/run" "$keep/resumed"
