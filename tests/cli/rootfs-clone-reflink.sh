#!/usr/bin/env bash
# --method reflink where the filesystem cannot share extents (ext4, tmpfs)
# fails with exit 1 and says why, instead of copying; auto falls back to a
# copy and says so with -v.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
case "$(stat -f -c %T "$T")" in
  xfs | btrfs) skip "$T is on $(stat -f -c %T "$T"), which can reflink" ;;
esac
G="$T/golden.ext4"
make_golden "$G" 32M

clone_one 1 vm-r1 --golden "$G" --method reflink
stderr_has "cannot reflink"
stderr_has "use --method copy or auto"
jq -e '.error.code == 1 and .error.reason == "reflink_unsupported"' "$OUT" >/dev/null || fail "error section"
[ ! -e "$S/vms/vm-r1/rootfs.ext4" ] || fail "reflink mode copied anyway"
no_temps "$S/vms/vm-r1"

clone_one 0 vm-r2 --golden "$G" -v
stderr_has "no reflink ("
[ "$(jq -r .rootfs.method "$OUT")" = copy ] || fail "auto should have copied"

clone_one 2 vm-r3 --golden "$G" --method clone
stderr_has "--method: 'clone' is not one of auto, reflink, copy"
pass "reflink refused where unsupported; auto copies"
