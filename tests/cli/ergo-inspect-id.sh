#!/usr/bin/env bash
# rootfs-inspect --id: a VM's image (its record's rootfs.path, which must be
# its own), for ls, cat, stat, check and diff — also when the VM is failed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ergo-common.sh"
need_cmd jq
make_golden "$T/g.ext4" 16M
new_vm vm-i1
new_vm vm-i2
new_vm vm-i3
rootfs-clone -q --golden "$T/g.ext4" --id vm-i1 --id vm-i2 >/dev/null
agent-inject -q --id vm-i2 --mkdir /opt/only-in-2 >/dev/null

expect_rc 0 rootfs-inspect ls --id vm-i1 /etc
stdout_has '"path":"/etc/hostname"'
expect_rc 0 rootfs-inspect cat --id vm-i1 /etc/hostname
[ "$(cat "$OUT")" = golden-host ] || fail "cat --id: $(cat "$OUT")"
expect_rc 0 rootfs-inspect stat --id vm-i1 /etc/hostname
stdout_has '"type":"file"'
expect_rc 0 rootfs-inspect diff --id vm-i1 --id vm-i2
stdout_has '"path":"/opt/only-in-2"'
expect_rc 0 rootfs-inspect diff --id vm-i1 "$S/vms/vm-i2/rootfs.ext4"
stdout_has '"path":"/opt/only-in-2"'
expect_rc 4 rootfs-inspect check --id vm-i1 --unit nope.service
stdout_has "unit_not_found"

# A failed VM is inspected all the same.
jq -c '.error = {"tool":"vm-wait-ready","code":4,"reason":"unit_failed","message":"x"}' \
  "$S/vms/vm-i1/record.json" >"$T/r" && cp "$T/r" "$S/vms/vm-i1/record.json"
expect_rc 0 rootfs-inspect ls --id vm-i1 /etc

# Mistakes.
expect_rc 2 rootfs-inspect ls --id vm-i3
stderr_has "VM 'vm-i3' has no image: its record has no rootfs.path (rootfs-clone has not cloned for it)"
expect_rc 2 rootfs-inspect ls --id vm-i1 "$T/g.ext4" /etc
stderr_has "unexpected argument"
expect_rc 2 rootfs-inspect cat --id vm-i1
stderr_has "give the PATH in the image"
jq -c --arg p "$T/g.ext4" '.rootfs.path = $p' "$S/vms/vm-i2/record.json" >"$T/r" && cp "$T/r" "$S/vms/vm-i2/record.json"
expect_rc 2 rootfs-inspect ls --id vm-i2
stderr_has "is not inside this VM's state folder"
pass "rootfs-inspect --id reads a VM's own image"
