# A truncated image (its filesystem longer than its file) is refused by
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
