#!/usr/bin/env bash
# --size grows the file and the filesystem (resize2fs), e2fsck-clean, and
# the record says so; a smaller size (shrinking) and a malformed one are
# usage errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
need_cmd resize2fs
G="$T/golden.ext4"
make_golden "$G" 32M

clone_one 0 vm-s1 --golden "$G" --size 96M
C="$S/vms/vm-s1/rootfs.ext4"
[ "$(stat -c %s "$C")" = $((96 << 20)) ] || fail "file not grown"
blocks=$(dumpe2fs -h "$C" 2>/dev/null | awk -F: '/^Block count/ {gsub(/ /,"",$2); print $2}')
bsize=$(dumpe2fs -h "$C" 2>/dev/null | awk -F: '/^Block size/ {gsub(/ /,"",$2); print $2}')
[ $((blocks * bsize)) = $((96 << 20)) ] || fail "filesystem not grown ($blocks x $bsize)"
[ "$(jq -r .rootfs.size "$OUT")" = $((96 << 20)) ] || fail "rootfs.size"
[ "$(jq -r .rootfs.golden_size "$OUT")" = $((32 << 20)) ] || fail "rootfs.golden_size"
[ "$(dbg "$C" 'cat /etc/machine-id')" = "$(derived_id vm-s1)" ] || fail "machine-id"
stderr_has "grown to 96.0 MiB"
fsck_clean "$C"

clone_one 0 vm-s2 --golden "$G" --size 32M   # equal: nothing to grow
jq -e '.rootfs | has("size") | not' "$OUT" >/dev/null || fail "size recorded without growing"

clone_one 2 vm-s3 --golden "$G" --size 16M
stderr_has "a clone can only grow"
[ ! -e "$S/vms/vm-s3/rootfs.ext4" ] || fail "rootfs left"

expect_rc 2 rootfs-clone --golden "$G" --size 2X --id vm-s1
stderr_has "--size: '2X': unknown unit"
pass "--size grows; shrinking refused"
