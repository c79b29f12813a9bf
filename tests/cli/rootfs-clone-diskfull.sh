#!/usr/bin/env bash
# A state folder on a full disk (a 20 MiB tmpfs in a private mount
# namespace): exit 5, no rootfs.ext4 and no temporary file left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
need_root
need_cmd unshare
G="$T/golden.ext4"
make_golden "$G" 48M
# More data than the tmpfs holds.
root="$T/fat"
mkdir -p "$root/etc"
head -c 28M /dev/urandom >"$root/blob"
echo x >"$root/etc/hostname"
mke2fs -q -F -t ext4 -d "$root" "$T/fat.ext4" 64M >/dev/null 2>&1 || fail "mke2fs"
rec vm-full1 >"$T/in1"
rec vm-full2 >"$T/in2"

unshare -m sh -c "mount --make-rprivate / && mkdir -p '$S' && mount -t tmpfs -o size=20M tmpfs '$S'" ||
  skip "cannot mount a tmpfs in a private mount namespace"
rc=0
unshare -m sh -c "
  set -e
  mount --make-rprivate /
  mkdir -p '$S'
  mount -t tmpfs -o size=20M tmpfs '$S'
  rc=0; rootfs-clone --golden '$T/fat.ext4' --keep-machine-id <'$T/in1' >'$T/out1' 2>'$T/err1' || rc=\$?
  echo \$rc >'$T/rc1'
  ls -a '$S/vms/vm-full1' >'$T/ls1'
  # Nearly full: the precheck passes, the copy itself runs out of space.
  head -c 14M /dev/zero >'$S/filler'
  rc=0; rootfs-clone --golden '$G' --method copy --keep-machine-id <'$T/in2' >'$T/out2' 2>'$T/err2' || rc=\$?
  echo \$rc >'$T/rc2'
  ls -a '$S/vms/vm-full2' >'$T/ls2'
" || rc=$?
[ "$rc" = 0 ] || fail "namespace script failed ($rc)"
for i in 1 2; do
  [ "$(cat "$T/rc$i")" = 5 ] || { cat "$T/err$i" >&2; fail "clone $i exited $(cat "$T/rc$i"), expected 5"; }
  ! grep -q 'rootfs.ext4' "$T/ls$i" || fail "clone $i left: $(cat "$T/ls$i")"
  jq -e '.error.code == 5' "$T/out$i" >/dev/null || fail "clone $i: no error section with code 5"
done
grep -q "free" "$T/err1" || fail "no free-space message: $(cat "$T/err1")"
pass "full disk: exit 5, nothing left"
