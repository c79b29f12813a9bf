#!/usr/bin/env bash
# Goldens that must not be cloned are refused with exit 2 and leave nothing
# behind: not ext2/3/4, journal needing recovery, truncated, missing,
# loop-mounted or attached read-write to a loop device (root only).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
G="$T/golden.ext4"
make_golden "$G" 32M

head -c 32M /dev/zero >"$T/zeros.img"
clone_one 2 vm-b1 --golden "$T/zeros.img"
stderr_has "is not an ext2/3/4 image"
jq -e '.error.code == 2 and .error.reason == "golden_not_ext4"' "$OUT" >/dev/null || fail "error section"

cp --sparse=always "$G" "$T/recover.ext4"
debugfs -w -R 'feature needs_recovery' "$T/recover.ext4" >/dev/null 2>&1
dumpe2fs -h "$T/recover.ext4" 2>/dev/null | grep -q needs_recovery || fail "could not set needs_recovery"
clone_one 2 vm-b2 --golden "$T/recover.ext4"
stderr_has "needs recovery"
jq -e '.error.reason == "golden_needs_recovery"' "$OUT" >/dev/null || fail "reason"

cp --sparse=always "$G" "$T/short.ext4"
truncate -s 16M "$T/short.ext4"
clone_one 2 vm-b3 --golden "$T/short.ext4"
stderr_has "is truncated"

clone_one 2 vm-b4 --golden "$T/missing.ext4"
stderr_has "missing.ext4"

clone_one 2 vm-b5 --golden "$T"
stderr_has "not a regular file"

# No golden at all is a usage error before any record is read.
expect_rc 2 env -u VMUTILS_GOLDEN rootfs-clone --id vm-b1
stderr_has "--golden"

for v in vm-b1 vm-b2 vm-b3 vm-b4 vm-b5; do
  [ ! -e "$S/vms/$v/rootfs.ext4" ] || fail "$v: a rootfs was left"
  no_temps "$S/vms/$v"
done

pass "bad goldens refused with exit 2"

# Mounted through a loop device, or attached read-write: refused. The golden
# mounted read-only and the loop device are removed on exit. These need
# root and loop devices: without them the test skips (a failure in CI),
# never passes having checked nothing.
need_root
need_cmd losetup
cp --sparse=always "$G" "$T/loop.ext4"
L=$(losetup -f --show "$T/loop.ext4" 2>"$T/losetup.err") || skip "no loop device: $(cat "$T/losetup.err")"
on_exit "losetup -d $L"
clone_one 2 vm-b6 --golden "$T/loop.ext4"
stderr_has "attached read-write to"
mkdir "$T/mnt"
mount -o ro "$L" "$T/mnt" 2>"$T/mount.err" || fail "mounting $L read-only: $(cat "$T/mount.err")"
on_exit "umount '$T/mnt'"
clone_one 2 vm-b7 --golden "$T/loop.ext4"
stderr_has "is mounted"
pass "loop-attached and mounted goldens refused with exit 2"
