#!/usr/bin/env bash
# The TAP check runs in the tool's own network namespace: a TAP made there
# is accepted (and the fake, told to, checks it too); a missing one is bad
# input; a device that is not a TAP is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fc-launch-common.sh"
make_netns
in_ns ip tuntap add vmutap1 mode tap
in_ns ip link add vmubr1 type bridge
new_record vm-tap '{"tap":"vmutap1","mac":"06:00:0a:57:00:02"}' >"$T/rec"
export FAKE_FC_REQUIRE_TAP=1
expect_rc 0 in_ns "${FCL[@]}" <"$T/rec"
cp "$OUT" "$T/out.json"
on_exit "kill_vmm '$T/out.json'"
# Outside the namespace the same record's TAP does not exist.
new_record vm-tap2 '{"tap":"vmutap1","mac":"06:00:0a:57:00:03"}' >"$T/rec2"
expect_rc 2 "${FCL[@]}" <"$T/rec2"
stderr_has "does not exist in this network namespace"
new_record vm-tap3 '{"tap":"vmubr1","mac":"06:00:0a:57:00:04"}' >"$T/rec3"
expect_rc 2 in_ns "${FCL[@]}" <"$T/rec3"
stderr_has "is not a TAP device"
pass "TAP checked in the namespace"
