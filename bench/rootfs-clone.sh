#!/usr/bin/env bash
# rootfs-clone benchmark (not part of the test suite).
#  1. Sparse copy: clone a 1 GiB golden holding ~300 MiB of data, against
#     `cp --sparse=always` of the same golden in the same run, on the same
#     filesystem, interleaved run by run: rootfs-clone (default: no fsync)
#     against cp, and rootfs-clone --sync against cp + sync FILE (equal
#     durability). RUNS runs each (default 6), the first dropped (it warms
#     the page cache and the digest cache); means, ratios and the load
#     average printed (the machine may be shared).
#  2. Reflink (needs root: losetup, mount): the same on a loop-mounted XFS
#     made with `mkfs.xfs -m reflink=1`, for 1 GiB and 4 GiB goldens (4x the
#     data), to show the clone time does not grow with the golden.
# Usage: bench/rootfs-clone.sh [BUILD_TOOLS_DIR]   (default build/release/tools,
# else build/dev/tools). Env: RUNS, BENCH_DIR (scratch, default /var/tmp).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-}
if [ -z "$BIN" ]; then
  BIN="$here/build/release/tools"
  [ -x "$BIN/rootfs-clone" ] || BIN="$here/build/dev/tools"
fi
CLONE="$BIN/rootfs-clone"
[ -x "$CLONE" ] || { echo "no rootfs-clone in $BIN; build first" >&2; exit 1; }
PATH="$PATH:/usr/sbin:/sbin"
RUNS=${RUNS:-6}
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/vmu-bench-clone.XXXXXX")
MNT="$W/xfs"
cleanup() {
  mountpoint -q "$MNT" 2>/dev/null && umount "$MNT"
  rm -rf "$W"
}
trap cleanup EXIT

now_ns() { date +%s%N; }
rec() { printf '{"v":1,"id":"%s","created":"2026-11-26T00:00:00Z"}\n' "$1"; }

# make_golden IMG SIZE DATA_MIB: ext4 with DATA_MIB of incompressible files
# spread over a few folders, plus /etc.
make_golden() {
  local img=$1 size=$2 data=$3 root="$W/root.$RANDOM" i
  mkdir -p "$root/etc" "$root/usr/lib" "$root/var/cache"
  echo bench >"$root/etc/hostname"
  echo uninitialized >"$root/etc/machine-id"
  for ((i = 0; i < data / 20; i++)); do
    head -c 20M /dev/urandom >"$root/usr/lib/blob$i"
  done
  mke2fs -q -F -t ext4 -d "$root" "$img" "$size"
  rm -rf "$root"
}

# mean of the arguments but the first (ms, 1 decimal)
mean_drop_first() {
  shift
  local s=0 n=0 x
  for x in "$@"; do s=$((s + x)); n=$((n + 1)); done
  awk -v s=$s -v n=$n 'BEGIN { printf "%.1f", s / n / 1e6 }'
}

echo "== sparse copy vs cp --sparse=always ($(stat -f -c %T "$W"), $RUNS runs, first dropped)"
G="$W/golden-1g.ext4"
make_golden "$G" 1G 300
echo "golden: $(stat -c %s "$G") bytes, $(du -k "$G" | cut -f1) KiB allocated"
S="$W/state"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
clone_ns=() cp_ns=() clones_ns=() cps_ns=()
for ((r = 0; r < RUNS; r++)); do
  # Default (no fsync) against cp; each starts with nothing dirty.
  rm -rf "$S" "$W/cp.ext4"; sync
  t0=$(now_ns)
  rec "vm-b$r" | "$CLONE" -q --golden "$G" --state-dir "$S" --method copy >"$W/rec.json"
  t1=$(now_ns)
  sync
  t2=$(now_ns)
  cp --sparse=always "$G" "$W/cp.ext4"
  t3=$(now_ns)
  # --sync against cp + sync FILE (the same durability).
  rm -rf "$S" "$W/cp.ext4"; sync
  t4=$(now_ns)
  rec "vm-s$r" | "$CLONE" -q --golden "$G" --state-dir "$S" --method copy --sync >"$W/recs.json"
  t5=$(now_ns)
  sync
  t6=$(now_ns)
  cp --sparse=always "$G" "$W/cp.ext4" && sync "$W/cp.ext4"
  t7=$(now_ns)
  clone_ns+=($((t1 - t0))) cp_ns+=($((t3 - t2))) clones_ns+=($((t5 - t4))) cps_ns+=($((t7 - t6)))
done
c=$(mean_drop_first "${clone_ns[@]}")
p=$(mean_drop_first "${cp_ns[@]}")
cs=$(mean_drop_first "${clones_ns[@]}")
ps=$(mean_drop_first "${cps_ns[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "rootfs-clone --method copy (default, no fsync): ${c} ms   bytes_copied $(jq .rootfs.bytes_copied "$W/rec.json"), synced $(jq .rootfs.synced "$W/rec.json")"
echo "cp --sparse=always (data left dirty in the page cache): ${p} ms"
echo "rootfs-clone --method copy --sync:              ${cs} ms   synced $(jq .rootfs.synced "$W/recs.json")"
echo "cp --sparse=always + sync FILE:                 ${ps} ms"
echo "ratio cp/rootfs-clone:               $(ratio "$p" "$c") (>=1: target met)"
echo "ratio (cp+sync)/(rootfs-clone --sync): $(ratio "$ps" "$cs")"
echo "runs (ms): clone ${clone_ns[*]}" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) $i = int($i / 1e6); print }'
echo "runs (ms): cp ${cp_ns[*]}" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) $i = int($i / 1e6); print }'
echo "runs (ms): clone --sync ${clones_ns[*]}" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) $i = int($i / 1e6); print }'
echo "runs (ms): cp+sync ${cps_ns[*]}" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) $i = int($i / 1e6); print }'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "allocated: clone $(du -k "$S/vms/vm-s$((RUNS - 1))/rootfs.ext4" | cut -f1) KiB, cp $(du -k "$W/cp.ext4" | cut -f1) KiB"
rm -rf "$S" "$W/cp.ext4" "$G" "$G.vmutils-id.json"

echo
echo "== reflink on a loop-mounted XFS (mkfs.xfs -m reflink=1)"
if [ "$(id -u)" != 0 ] || ! command -v mkfs.xfs >/dev/null; then
  echo "skipped: needs root and mkfs.xfs"
  exit 0
fi
truncate -s 12G "$W/xfs.img"
mkfs.xfs -q -m reflink=1 "$W/xfs.img"
mkdir -p "$MNT"
mount -o loop "$W/xfs.img" "$MNT"
for spec in "1G 300" "4G 1200"; do
  set -- $spec
  G="$MNT/golden-$1.ext4"
  make_golden "$G" "$1" "$2"
  ms=() wall=()
  for ((r = 0; r < RUNS; r++)); do
    rm -rf "$MNT/state"
    t0=$(now_ns)
    rec "vm-x$r" | "$CLONE" -q --golden "$G" --state-dir "$MNT/state" --method reflink >"$W/rec.json"
    t1=$(now_ns)
    wall+=($((t1 - t0))) ms+=($(jq .rootfs.elapsed_ms "$W/rec.json"))
  done
  t0=$(now_ns)
  rec "vm-k" | "$CLONE" -q --golden "$G" --state-dir "$MNT/state" --method reflink --keep-machine-id >"$W/rec.json"
  t1=$(now_ns)
  echo "golden $1 ($2 MiB data): rootfs-clone --method reflink wall $(mean_drop_first "${wall[@]}") ms" \
    "(elapsed_ms per run: ${ms[*]:1}); reflink only (--keep-machine-id): $(( (t1 - t0) / 1000000 )) ms," \
    "method $(jq -r .rootfs.method "$W/rec.json")"
  rm -rf "$MNT/state" "$G" "$G.vmutils-id.json"
done
