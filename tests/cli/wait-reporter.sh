#!/usr/bin/env bash
# The guest reporter's blocks make invisible failures visible: the agent
# listens on 127.0.0.1 only (a real server bound to loopback in the guest),
# and an interface without an address. Interleaved kernel lines and a cut
# block do no harm.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"
wait_setup
rep='{"reporter":{"unit":"vmutils-reporter.service","port":8080,"units":["vm-agent.service"]}}'
make_record vm-lo '' "$rep"
guest_addr
guest_http --bind 127.0.0.1
boot_lines "$CON"
say "$CON" "[  OK  ] Started vm-agent.service - vmutils example agent." \
  "[  OK  ] Reached target multi-user.target - Multi-User System."
# A block cut by a kernel line (ignored), then a whole one with a kernel
# line between two of its lines.
printf 'vmu-report:1:0:9:begin v=1\r\nvmu-report:1:1:20:listen 0100[   12.0] random: crng init done\r\n' >>"$CON"
report "$CON" 2 "listen 0100007F:1F90" "if eth0 up 1 06:00:0a:5b:00:02" "local 10.91.0.2" \
  "route eth0 00005B0A 00FFFFFF" "unit vm-agent.service ActiveState=active" \
  "unit vm-agent.service SubState=running"
t0=$(now)
expect_rc 4 in_ns vm-wait-ready --timeout 60 <"$REC"
took=$(elapsed "$t0" "$(now)")
[ "$(field "$OUT" 'r["ready"]["reason"]')" = port_closed ] || fail "reason is not port_closed"
stderr_has "vm-agent.service is running and listens on 127.0.0.1:8080 only: loopback, unreachable from the host"
[ "$(field "$OUT" 'r["ready"]["reporter"]["blocks"]')" = 1 ] || fail "reporter blocks not counted"
[ "$(field "$OUT" 'r["ready"]["reporter"]["broken"] >= 1')" = True ] || fail "the cut block was not noticed"
[ "$(field "$OUT" 'r["ready"]["reporter"]["last"]["listening"][0]')" = 127.0.0.1:8080 ] || fail "listening"

guest_stop
guest_unaddr
make_record vm-noaddr '' "$rep"
boot_lines "$CON"
say "$CON" "[  OK  ] Started vm-agent.service - vmutils example agent." \
  "[  OK  ] Reached target multi-user.target - Multi-User System."
report "$CON" 1 "if eth0 up 1 06:00:0a:5b:00:02" "local 127.0.0.1" "networkd eth0 configuring degraded" \
  "unit vm-agent.service ActiveState=active" "unit vm-agent.service SubState=running"
expect_rc 4 in_ns vm-wait-ready --timeout 60 <"$REC"
[ "$(field "$OUT" 'r["ready"]["reason"]')" = network_down ] || fail "reason is not network_down"
stderr_has "eth0 is up and has no IPv4 address (networkd: configuring)"
pass "loopback-only listener named after $took s; interface without address named"
