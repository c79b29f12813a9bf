#!/usr/bin/env bash
# The guest is up (multi-user reached) but never configured its address:
# nobody answers ARP for it. The probe sees EHOSTUNREACH; the verdict is
# network_down, with the host-side evidence: the neighbour entry's state on
# the bridge and the TAP's counters (the guest never sent a frame).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"
wait_setup
make_record vm-noarp
boot_lines "$CON"
say "$CON" "[  OK  ] Started vm-agent.service - vmutils example agent." \
  "[  OK  ] Reached target multi-user.target - Multi-User System."
t0=$(now)
expect_rc 4 in_ns vm-wait-ready --grace network=6s --timeout 60 <"$REC"
took=$(elapsed "$t0" "$(now)")
[ "$(field "$OUT" 'r["ready"]["reason"]')" = network_down ] || fail "reason is not network_down"
stderr_has "the guest never configured its network"
stderr_has "no route to 10.91.0.2 (EHOSTUNREACH)"
grep -qE "no ARP answer for 10.91.0.2 on wbr0 \(neighbour (FAILED|INCOMPLETE)\)" "$ERR" \
  || { cat "$ERR" >&2; fail "the neighbour state is not named"; }
stderr_has "the guest has never sent a frame on wtap0 (rx 0 packets)"
[ "$(field "$OUT" 'r["ready"]["probe"]["tap_rx_packets"]')" = 0 ] || fail "tap counters not in the record"

# Without a console line saying so, a timeout names the same evidence.
make_record vm-noarp2
expect_rc 3 in_ns vm-wait-ready --timeout 5s <"$REC"
[ "$(field "$OUT" 'r["ready"]["reason"]')" = timeout ] || fail "reason is not timeout"
[ "$(field "$OUT" 'r["error"]["code"]')" = 3 ] || fail "error.code is not 3"
stderr_has "not ready after"
stderr_has "no ARP answer for 10.91.0.2 on wbr0"
pass "network_down after $took s; timeout with the ARP evidence"
