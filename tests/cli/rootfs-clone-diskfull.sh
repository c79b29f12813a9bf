#!/usr/bin/env bash
# A state folder on a full disk (a tmpfs in a private mount namespace):
# exit 5, no rootfs.ext4 and no temporary file left, by both paths, each
# seen by its reason: the free-space check before the copy ("disk_full"),
# and the disk filling up during the copy ("disk_full_copying": the clone is
# stopped once its data is being written, the disk filled, and continued).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
need_root
need_cmd unshare
# 48 MiB of data: more than the 20 MiB tmpfs of clone 1 holds.
root="$T/fat"
mkdir -p "$root/etc"
head -c 48M /dev/urandom >"$root/blob"
echo x >"$root/etc/hostname"
mke2fs -q -F -t ext4 -d "$root" "$T/fat.ext4" 64M >/dev/null 2>&1 || fail "mke2fs"
rec vm-full1 >"$T/in1"
rec vm-full2 >"$T/in2"

unshare -m sh -c "mount --make-rprivate / && mkdir -p '$S' && mount -t tmpfs -o size=20M tmpfs '$S'" ||
  skip "cannot mount a tmpfs in a private mount namespace"
rc=0
unshare -m bash -c "
  set -e
  mount --make-rprivate /
  mkdir -p '$S'
  mount -t tmpfs -o size=20M tmpfs '$S'
  rc=0; rootfs-clone --golden '$T/fat.ext4' --keep-machine-id <'$T/in1' >'$T/out1' 2>'$T/err1' || rc=\$?
  echo \$rc >'$T/rc1'
  ls -a '$S/vms/vm-full1' >'$T/ls1'
  # Room for the data at the check; then, once the copy writes, none.
  umount '$S'
  mount -t tmpfs -o size=120M tmpfs '$S'
  rootfs-clone --golden '$T/fat.ext4' --method copy --keep-machine-id <'$T/in2' >'$T/out2' 2>'$T/err2' &
  pid=\$!
  for _ in \$(seq 20000); do
    t=\$(compgen -G '$S/vms/vm-full2/.rootfs.ext4.tmp.*' || true)
    [ -n \"\$t\" ] && [ \"\$(stat -c %b \"\$t\" 2>/dev/null || echo 0)\" -gt 0 ] && break
    sleep 0.001
  done
  kill -STOP \$pid
  head -c 200M /dev/zero >'$S/filler' 2>/dev/null || true
  kill -CONT \$pid
  rc=0; wait \$pid || rc=\$?
  echo \$rc >'$T/rc2'
  ls -a '$S/vms/vm-full2' >'$T/ls2'
" || rc=$?
[ "$rc" = 0 ] || fail "namespace script failed ($rc)"
for i in 1 2; do
  [ "$(cat "$T/rc$i")" = 5 ] || { cat "$T/err$i" >&2; fail "clone $i exited $(cat "$T/rc$i"), expected 5"; }
  ! grep -q 'rootfs.ext4' "$T/ls$i" || fail "clone $i left: $(cat "$T/ls$i")"
done
jq -e '.error.code == 5 and .error.reason == "disk_full"' "$T/out1" >/dev/null ||
  fail "clone 1: not the free-space check: $(cat "$T/out1")"
grep -q "only .* are free" "$T/err1" || fail "no free-space message: $(cat "$T/err1")"
jq -e '.error.code == 5 and .error.reason == "disk_full_copying"' "$T/out2" >/dev/null ||
  fail "clone 2: not a full disk during the copy: $(cat "$T/out2")"
grep -q "No space left on device" "$T/err2" || fail "no ENOSPC message: $(cat "$T/err2")"
pass "full disk: exit 5, nothing left, before and during the copy"
