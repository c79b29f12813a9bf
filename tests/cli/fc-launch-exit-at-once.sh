#!/usr/bin/env bash
# The VMM exits at once: exit 1 without waiting for the deadline, with the
# VMM's own error quoted from its log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fc-launch-common.sh"
new_record vm-dies >"$T/rec"
export FAKE_FC_EXIT_AT_ONCE=1
start=$(date +%s%N)
expect_rc 1 "${FCL[@]}" --start-timeout-ms 30000 <"$T/rec"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 5000 ] || fail "took ${ms} ms to notice (deadline 30000 ms)"
stderr_has "exited with code 1"
stderr_has "before its control socket"
stderr_has "Error:"
[ "$(json "$OUT" 'j["error"]["reason"]')" = vmm_exited ] || fail "error.reason"
[ -e "$S/vms/vm-dies/vmm.log" ] || fail "vmm.log not kept"
flock -n "$T/vm-dies.ext4" true || fail "rootfs lock still held"
pass "noticed the exit after ${ms} ms"
