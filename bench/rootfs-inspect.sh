#!/usr/bin/env bash
# rootfs-inspect benchmark (not part of the test suite): `rootfs-inspect diff`
# of two 1 GiB ext4 images holding ~300 MiB of files that differ in a few
# files, against the mount-free baseline `debugfs -R 'rdump / DIR'` of both
# images + `diff -r` of the two dumps, in the same run. RUNS runs each
# (default 4), the first of each dropped (page cache warm-up); mean and
# ratio printed, and both must find the same changed paths.
# Usage: bench/rootfs-inspect.sh [BUILD_TOOLS_DIR]  (default build/release/tools,
# else build/dev/tools). Env: RUNS, BENCH_DIR (scratch, default /var/tmp).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-}
if [ -z "$BIN" ]; then
  BIN="$here/build/release/tools"
  [ -x "$BIN/rootfs-inspect" ] || BIN="$here/build/dev/tools"
fi
RI="$BIN/rootfs-inspect"
[ -x "$RI" ] || { echo "no rootfs-inspect in $BIN; build first" >&2; exit 1; }
PATH="$PATH:/usr/sbin:/sbin"
RUNS=${RUNS:-4}
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/vmu-bench-inspect.XXXXXX")
trap 'rm -rf "$W"' EXIT
now_ns() { date +%s%N; }

# ~300 MiB: 2,000 files of 4-200 KiB in 40 folders (~200 MiB) and 10 of 10 MiB.
root="$W/root"
mkdir -p "$root/etc" "$root/opt/agent"
echo bench >"$root/etc/hostname"
printf 'PATH=/usr/bin:/bin\n' >"$root/etc/environment"
head -c $((210 * 1024 * 1024)) /dev/urandom >"$W/pool"
off=0
for i in $(seq 1 2000); do
  d="$root/usr/lib/d$((i % 40))"
  mkdir -p "$d"
  sz=$(((i * 7919) % 196 + 4))  # KiB
  dd if="$W/pool" of="$d/f$i" bs=1K skip=$off count=$sz status=none
  off=$(((off + sz) % (200 * 1024)))
done
for i in $(seq 1 10); do
  dd if="$W/pool" of="$root/opt/agent/blob$i" bs=1M skip=$((i * 10)) count=10 status=none
done
rm "$W/pool"
data_mib=$(du -sm "$root" | cut -f1)
mke2fs -q -F -t ext4 -d "$root" "$W/a.ext4" 1G
rm -rf "$root"
cp --sparse=always "$W/a.ext4" "$W/b.ext4"

# A few changes in B, with debugfs -w: same-size new content in a 10 MiB
# file, a mode, a removed file, an added file, an added symlink.
head -c $((10 * 1024 * 1024)) /dev/urandom >"$W/blob"
head -c 4096 /dev/urandom >"$W/small"
cat >"$W/cmds" <<CMDS
rm /opt/agent/blob3
write $W/blob /opt/agent/blob3
sif /opt/agent/blob5 mode 0100600
rm /usr/lib/d3/f3
write $W/small /usr/lib/d1/new-file
symlink /opt/agent/link /opt/agent/blob1
CMDS
debugfs -w -f "$W/cmds" "$W/b.ext4" >/dev/null 2>&1

ri_run() { "$RI" diff "$W/a.ext4" "$W/b.ext4" >"$W/ri.out" 2>/dev/null; }
# The dumps of the previous run are removed (and synced) outside the timing.
baseline_prepare() {
  rm -rf "$W/da" "$W/db"
  mkdir -p "$W/da" "$W/db"
  sync
}
baseline_run() {
  debugfs -R "rdump / $W/da" "$W/a.ext4" >/dev/null 2>&1
  debugfs -R "rdump / $W/db" "$W/b.ext4" >/dev/null 2>&1
  diff -r "$W/da" "$W/db" >"$W/base.out" 2>&1 || true
}

declare -A total=([ri]=0 [base]=0)
for r in $(seq 1 "$RUNS"); do
  for which in ri base; do
    if [ $which = base ]; then baseline_prepare; else sync; fi
    t0=$(now_ns)
    if [ $which = ri ]; then ri_run; else baseline_run; fi
    t1=$(now_ns)
    ms=$(((t1 - t0) / 1000000))
    echo "run $r $which: $ms ms" >&2
    [ "$r" -eq 1 ] || total[$which]=$((total[$which] + ms))
  done
done
n=$((RUNS - 1))
ri_ms=$((total[ri] / n))
base_ms=$((total[base] / n))
echo "rootfs-inspect diff found:" >&2
jq -r '"  \(.change) \(.path) \(.fields | join(","))"' "$W/ri.out" >&2
echo "debugfs rdump + diff -r found:" >&2
sed 's/^/  /' "$W/base.out" >&2
ratio=$(awk -v a="$base_ms" -v b="$ri_ms" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }')
echo "data: ${data_mib} MiB in each 1 GiB image; runs: $n (after a warm-up)"
echo "rootfs-inspect diff:             ${ri_ms} ms"
echo "debugfs rdump x2 + diff -r:      ${base_ms} ms"
echo "ratio (baseline / rootfs-inspect): ${ratio}x"
