#!/usr/bin/env bash
# The reflink path that succeeds: a loop-mounted XFS made with reflink=1 (as
# bench/rootfs-clone.sh does) holds the golden and the state folder;
# --method reflink clones with method "reflink", the clone reads the same
# as the golden, and it takes almost no space. The mount lives in a private
# mount namespace, so it (and its loop device) go away with the test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
need_root
need_cmd unshare
need_cmd mkfs.xfs
truncate -s 600M "$T/xfs.img"
mkfs.xfs -q -m reflink=1 "$T/xfs.img" || fail "mkfs.xfs -m reflink=1"
mkdir -p "$T/mnt"
rec vm-x1 >"$T/in"
rc=0
unshare -m bash -c "
  set -e
  mount --make-rprivate /
  mount -o loop '$T/xfs.img' '$T/mnt' 2>'$T/mount.err' || { echo 77 >'$T/rc'; exit 0; }
  root='$T/mnt/root'; mkdir -p \"\$root/etc\"
  head -c 64M /dev/urandom >\"\$root/blob\"
  mke2fs -q -F -t ext4 -d \"\$root\" '$T/mnt/golden.ext4' 128M >/dev/null 2>&1
  before=\$(df -k --output=used '$T/mnt' | tail -1)
  rc=0
  VMUTILS_STATE_DIR='$T/mnt/state' rootfs-clone --golden '$T/mnt/golden.ext4' --method reflink \
    --keep-machine-id <'$T/in' >'$T/out' 2>'$T/err' || rc=\$?
  echo \$rc >'$T/rc'
  after=\$(df -k --output=used '$T/mnt' | tail -1)
  echo \$((after - before)) >'$T/used'
  cmp '$T/mnt/golden.ext4' '$T/mnt/state/vms/vm-x1/rootfs.ext4' && echo same >'$T/cmp'
  e2fsck -fn '$T/mnt/state/vms/vm-x1/rootfs.ext4' >'$T/fsck' 2>&1 && echo clean >>'$T/cmp'
" || rc=$?
[ "$rc" = 0 ] || fail "namespace script failed ($rc)"
[ "$(cat "$T/rc")" != 77 ] || skip "cannot loop-mount XFS: $(cat "$T/mount.err")"
[ "$(cat "$T/rc")" = 0 ] || { cat "$T/err" >&2; fail "reflink clone exited $(cat "$T/rc")"; }
jq -e '.rootfs.method == "reflink"' "$T/out" >/dev/null || fail "method: $(cat "$T/out")"
[ "$(cat "$T/cmp")" = "$(printf 'same\nclean')" ] || fail "clone differs or not clean: $(cat "$T/fsck")"
# 64 MiB of data shared, not copied: well under 16 MiB more used.
[ "$(cat "$T/used")" -lt 16384 ] || fail "the clone used $(cat "$T/used") KiB: not shared"
pass "reflink on XFS reflink=1: method reflink, identical, $(cat "$T/used") KiB used"
