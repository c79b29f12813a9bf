# Small things: --size '' and --max-entries/--max-depth -1 are usage errors
# (they were taken as "no size" and 2^64-1); every folder a tool makes in
# the state folder is 0750, whichever tool made it first.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/harden-common.sh"

G="$T/golden.ext4"
small_golden "$G"
rec vm-s1 >"$T/in"
expect_rc 2 rootfs-clone --golden "$G" --size '' <"$T/in"
stderr_has "--size: '': not a size"
[ ! -e "$S/vms/vm-s1/rootfs.ext4" ] || fail "--size '' cloned"
for opt in --max-entries --max-depth; do
  expect_rc 2 rootfs-inspect ls "$opt" -1 "$G" /
  stderr_has "'-1' is not a number from 1"
  expect_rc 2 rootfs-inspect ls "$opt" 0 "$G" /
done
expect_rc 0 rootfs-inspect ls --max-entries 5 --max-depth 3 "$G" /
pass "--size '' and negative limits are refused"

mode() { stat -c %a "$1"; }
# rootfs-clone first.
rm -rf "$S"
rec vm-m1 | rootfs-clone -q --golden "$G" >/dev/null || fail "rootfs-clone"
[ "$(mode "$S/vms")" = 750 ] || fail "vms/ made $(mode "$S/vms") by rootfs-clone"
[ "$(mode "$S/vms/vm-m1")" = 750 ] || fail "vms/vm-m1 made $(mode "$S/vms/vm-m1") by rootfs-clone"
[ "$(mode "$S/cache")" = 750 ] || fail "cache/ made $(mode "$S/cache")"
# vmnet-alloc first (the record's folder through the state).
rm -rf "$S"
vmnet-alloc -q --no-tap -p 10.78.0.0/24 >/dev/null || fail "vmnet-alloc"
id=$(ls "$S/vms")
[ "$(mode "$S/vms")" = 750 ] || fail "vms/ made $(mode "$S/vms") by vmnet-alloc"
[ "$(mode "$S/vms/$id")" = 750 ] || fail "vms/$id made $(mode "$S/vms/$id") by vmnet-alloc"
pass "state folders are 0750 whoever makes them"
