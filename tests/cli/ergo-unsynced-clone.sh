#!/usr/bin/env bash
# fc-launch refuses a clone made without --sync in an earlier host boot
# (rootfs.synced false, rootfs.boot_id not this boot's), with the fix in the
# message; a synced clone, or one of this boot, is launched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ergo-common.sh"
need_cmd jq
[ -r /proc/sys/kernel/random/boot_id ] || skip "no /proc/sys/kernel/random/boot_id"
make_golden "$T/g.ext4" 16M
: >"$T/vmlinux"
new_vm vm-u
rootfs-clone -q --id vm-u --golden "$T/g.ext4" >/dev/null || fail "clone"
[ "$(saved vm-u | jq -r .rootfs.synced)" = false ] || fail "the clone is synced by default?"
# This boot's unsynced clone is fine.
expect_rc 0 fc-launch --id vm-u --dry-run --vmm qemu --kernel "$T/vmlinux"

# The same record from an earlier boot.
jq -c '.rootfs.boot_id = "00000000-0000-0000-0000-000000000000"' "$S/vms/vm-u/record.json" >"$T/r"
cp "$T/r" "$S/vms/vm-u/record.json"
expect_rc 2 fc-launch --id vm-u --dry-run --vmm qemu --kernel "$T/vmlinux"
stderr_has "was made without --sync in an earlier boot of this host"
stderr_has "make it again with 'rootfs-clone --id vm-u --force'"
expect_rc 2 fc-launch --vmm qemu --kernel "$T/vmlinux" <"$T/r"
[ "$(jq -r .error.reason "$OUT")" = unsynced_clone ] || fail "the record's error is not unsynced_clone"

# Synced, the earlier boot does not matter.
jq -c '.rootfs.synced = true | del(.error)' "$T/r" >"$S/vms/vm-u/record.json"
expect_rc 0 fc-launch --id vm-u --dry-run --vmm qemu --kernel "$T/vmlinux"
pass "an unsynced clone of an earlier boot is refused with the fix"
