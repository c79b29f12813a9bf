# A truncated image (its filesystem longer than its file), or one with a
# damaged group descriptor, is refused by
# every tool through one check: agent-inject does not write it (byte-
# identical after), rootfs-inspect does not read it (no "0 differences"),
# rootfs-clone does not clone it. A golden with the quota feature, which
# agent-inject cannot edit, is refused by rootfs-clone already.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/harden-common.sh"

G="$T/golden.ext4"
small_golden "$G"
cp "$G" "$T/short.ext4"
truncate -s 6M "$T/short.ext4"
sum=$(sha256sum <"$T/short.ext4")

expect_rc 2 agent-inject --image "$T/short.ext4" --env K=v
stderr_has "is truncated"
[ "$(sha256sum <"$T/short.ext4")" = "$sum" ] || fail "agent-inject wrote a truncated image"
expect_rc 2 rootfs-inspect ls "$T/short.ext4" /
stderr_has "is truncated"
expect_rc 2 rootfs-inspect diff "$G" "$T/short.ext4"
stderr_has "is truncated"
rec vm-t1 >"$T/in"
expect_rc 2 rootfs-clone --golden "$T/short.ext4" <"$T/in"
jq -e '.error.reason == "golden_truncated"' "$OUT" >/dev/null || fail "rootfs-clone reason"
pass "a truncated image is refused by every tool"

cp "$G" "$T/quota.ext4"
tune2fs -O quota "$T/quota.ext4" >/dev/null 2>&1 || fail "tune2fs -O quota"
expect_rc 2 rootfs-clone --golden "$T/quota.ext4" <"$T/in"
jq -e '.error.reason == "golden_quota_feature"' "$OUT" >/dev/null || fail "quota: reason $(cat "$OUT")"
stderr_has "tune2fs -O ^quota"
[ ! -e "$S/vms/vm-t1/rootfs.ext4" ] || fail "a quota golden was cloned"
expect_rc 2 agent-inject --image "$T/quota.ext4" --env K=v
stderr_has "quota feature"
pass "a quota golden is refused at clone time, like at inject time"

# A damaged group descriptor (block and inode bitmaps past the end): every
# tool refuses the image with one line of its own on stderr (no raw
# libext2fs lines), and agent-inject leaves it byte-identical (it used to
# write it into an image whose superblock e2fsck could no longer find).
cp "$G" "$T/gd.ext4"
bs=$(dumpe2fs -h "$T/gd.ext4" 2>/dev/null | awk '/^Block size:/{print $3}')
gdt=$(( bs == 1024 ? 2048 : bs ))
printf '\xff\xff\xff\x7f\xff\xff\xff\x7f' | dd of="$T/gd.ext4" bs=1 seek="$gdt" conv=notrunc 2>/dev/null
sum=$(sha256sum <"$T/gd.ext4")
own_lines_only() { ! grep -qv "^$1: " "$ERR" || { cat "$ERR" >&2; fail "$1: raw lines on stderr"; }; }
expect_rc 1 agent-inject --image "$T/gd.ext4" --env K=v
stderr_has "group descriptors are damaged"
own_lines_only agent-inject
[ "$(sha256sum <"$T/gd.ext4")" = "$sum" ] || fail "agent-inject wrote an image with a damaged descriptor"
expect_rc 1 rootfs-inspect ls "$T/gd.ext4" /
stderr_has "group descriptors are damaged"
own_lines_only rootfs-inspect
rec vm-t2 >"$T/in"
expect_rc 1 rootfs-clone --golden "$T/gd.ext4" <"$T/in"
jq -e '.error.reason == "golden_corrupted"' "$OUT" >/dev/null || fail "rootfs-clone: $(cat "$OUT")"
own_lines_only rootfs-clone
pass "a damaged group descriptor is refused by every tool, quietly"
