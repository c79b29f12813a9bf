#!/usr/bin/env bash
# The API socket never appears: exit 1 within the deadline, VMM stopped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fc-launch-common.sh"
new_record vm-nosock >"$T/rec"
export FAKE_FC_NO_SOCKET=1
start=$(date +%s%N)
expect_rc 1 "${FCL[@]}" --start-timeout 1.5s <"$T/rec"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -ge 1400 ] || fail "gave up after ${ms} ms, before the 1500 ms deadline"
[ "$ms" -lt 6000 ] || fail "took ${ms} ms for a 1500 ms deadline"
stderr_has "did not create its control socket"
stderr_has "within 1500 ms"
[ "$(json "$OUT" 'j["error"]["reason"]')" = vmm_timeout ] || fail "error.reason"
ps -eo args | grep -F -- "$T/run/vm-nosock/api.sock" | grep -v grep && fail "VMM still runs"
flock -n "$T/vm-nosock.ext4" true || fail "rootfs lock still held"
pass "gave up after ${ms} ms"
