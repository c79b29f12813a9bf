#!/usr/bin/env bash
# Bad input is exit 2 before anything starts; a missing VMM is exit 1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fc-launch-common.sh"
new_record vm-bad >"$T/rec"
export FAKE_FC_REQUEST_LOG="$T/requests.jsonl"

expect_rc 2 fc-launch --firecracker-bin "$FAKE_FC" <"$T/rec"
stderr_has "no kernel"
expect_rc 2 fc-launch --firecracker-bin "$FAKE_FC" --kernel "$T/nope" <"$T/rec"
stderr_has "kernel '$T/nope'"
expect_rc 2 fc-launch --firecracker-bin "$FAKE_FC" --kernel "$T/vmlinux" --initrd "$T/no-initrd" <"$T/rec"
stderr_has "initrd '$T/no-initrd'"
echo '{"v":1,"id":"vm-norootfs"}' >"$T/rec-nr"
expect_rc 2 "${FCL[@]}" <"$T/rec-nr"
stderr_has "no rootfs.path"
printf '{"v":1,"id":"vm-gone","rootfs":{"path":"%s"}}\n' "$T/gone.ext4" >"$T/rec-gone"
expect_rc 2 "${FCL[@]}" <"$T/rec-gone"
stderr_has "rootfs.path '$T/gone.ext4': No such file"
new_record vm-notap '{"tap":"vmu-notap0","mac":"06:00:0a:56:00:02"}' >"$T/rec-tap"
expect_rc 2 "${FCL[@]}" <"$T/rec-tap"
stderr_has "TAP 'vmu-notap0'"
stderr_has "does not exist"

# A rootfs in use (its lock held, as by a running VM).
exec {lockfd}<>"$T/vm-bad.ext4"
flock -n "$lockfd" || fail "cannot take the test's lock"
expect_rc 2 "${FCL[@]}" <"$T/rec"
stderr_has "in use"
[ "$(json "$OUT" 'j["error"]["reason"]')" = image_in_use ] || fail "error.reason"
exec {lockfd}>&-

# Nothing was started by any of these.
[ ! -s "$T/requests.jsonl" ] || fail "a VMM was started for bad input"

# Environment: the VMM is not there (exit 1).
expect_rc 1 fc-launch --firecracker-bin "$T/no-fc" --kernel "$T/vmlinux" <"$T/rec"
stderr_has "not found"
expect_rc 1 env PATH="$VMU_BIN:/nonexistent" fc-launch --vmm qemu --kernel "$T/vmlinux" <"$T/rec"
stderr_has "qemu-system-x86_64"
stderr_has "not found"
# Without --vmm and no firecracker in PATH, qemu is the choice.
expect_rc 0 env PATH="$VMU_BIN:/nonexistent" fc-launch --kernel "$T/vmlinux" --qemu-bin /bin/true --dry-run <"$T/rec"
[ "$(json "$OUT" 'j["backend"]')" = qemu ] || fail "default backend without firecracker"
# Usage errors.
expect_rc 2 "${FCL[@]}" --vmm xen <"$T/rec"
expect_rc 2 "${FCL[@]}" --vcpus 0 <"$T/rec"
pass "bad input is 2, a missing VMM is 1"
