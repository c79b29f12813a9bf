#!/usr/bin/env bash
# The guest's network is up and its agent unit runs, but nothing listens on
# the port (connection refused): port_closed once the grace period has run
# (shortened here with --grace), naming the unit, the address and the
# refusals; well before the deadline.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"
wait_setup
make_record vm-closed
guest_addr
boot_lines "$CON"
say "$CON" "[  OK  ] Started vm-agent.service - vmutils example agent." \
  "[ 28.3] systemd-networkd[158]: eth0: DHCPv4 address 10.91.0.2/24, gateway 10.91.0.1 acquired from 10.91.0.1" \
  "[  OK  ] Reached target multi-user.target - Multi-User System."
t0=$(now)
expect_rc 4 in_ns vm-wait-ready --grace port=2s --timeout 60 <"$REC"
took=$(elapsed "$t0" "$(now)")
[ "$(field "$OUT" 'r["ready"]["reason"]')" = port_closed ] || fail "reason is not port_closed"
[ "$(field "$OUT" 'r["ready"]["unit"]')" = vm-agent.service ] || fail "unit not named"
stderr_has "vm-agent.service is running but nothing accepts connections on 10.91.0.2:8080: connection refused for"
[ "$(field "$OUT" '"port 8080 to accept connections" in r["ready"]["expected"]')" = True ] || fail "expected"
awk -v t="$took" 'BEGIN { exit !(t < 10) }' || fail "port_closed took $t s"
pass "port_closed after $took s (grace 2 s)"
