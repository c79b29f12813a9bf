#!/usr/bin/env bash
# --expect-digest: the right digest clones; another one refuses the golden
# with exit 4 ("golden_changed"); a malformed one is a usage error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
G="$T/golden.ext4"
make_golden "$G" 32M
sum=$(sha256sum <"$G" | cut -c1-64)

clone_one 0 vm-d1 --golden "$G" --expect-digest "$sum"
clone_one 0 vm-d2 --golden "$G" --expect-digest "$(echo "$sum" | tr a-f A-F)"

other=$(printf 'x' | sha256sum | cut -c1-64)
clone_one 4 vm-d3 --golden "$G" --expect-digest "$other"
stderr_has "not the expected $other"
jq -e '.error.code == 4 and .error.reason == "golden_changed"' "$OUT" >/dev/null || fail "error section"
[ ! -e "$S/vms/vm-d3/rootfs.ext4" ] || fail "rootfs left after a digest mismatch"

# The golden changes (one byte in the data area): the cached digest is not
# trusted, and the old digest no longer matches.
printf 'Z' | dd of="$G" bs=1 seek=$((30 * 1024 * 1024)) conv=notrunc status=none
clone_one 4 vm-d4 --golden "$G" --expect-digest "$sum"
jq -e '.error.reason == "golden_changed"' "$OUT" >/dev/null || fail "changed golden not refused"

clone_one 2 vm-d5 --golden "$G" --expect-digest "abc123"
stderr_has "is not a SHA-256 digest"
pass "--expect-digest"
