#!/usr/bin/env bash
# A failure half-way (TAP made, attaching it fails because 'lo' is not a
# bridge) rolls back: no TAP left, no lease held, no record.
. "$(dirname "$0")/lib.sh"
make_netns

expect_rc 1 in_ns vmnet-alloc --pool 10.78.0.0/24 --bridge lo --id vm-rb
stderr_has "'lo' is not a bridge"
in_ns test ! -e /sys/class/net/vmtap2 || fail "TAP left behind"
[ ! -e "$S/vms/vm-rb" ] || fail "record left behind"
in_ns vmnet-alloc list >"$OUT"
[ ! -s "$OUT" ] || { cat "$OUT" >&2; fail "lease left behind"; }
pass "rollback"
