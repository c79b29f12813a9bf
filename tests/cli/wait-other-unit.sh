#!/usr/bin/env bash
# Another unit fails during the boot (not in agent.units, not --unit): no
# false alarm. The agent becomes ready; the other failure is a warning in
# the record and on stderr. With --unit naming it, it matters.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"
wait_setup
make_record vm-other
guest_addr
boot_lines "$CON"
say "$CON" "[FAILED] Failed to start systemd-networkd-wait-online.service - Wait for Network to be Configured." \
  "[ 20.1] systemd[1]: systemd-networkd-wait-online.service: Failed with result 'timeout'." \
  "[  OK  ] Started vm-agent.service - vmutils example agent."
guest_http --delay 1.5
expect_rc 0 in_ns vm-wait-ready <"$REC"
[ "$(field "$OUT" 'r["ready"]["ok"]')" = True ] || fail "not ready"
[ "$(field "$OUT" 'any("systemd-networkd-wait-online.service" in w for w in r["ready"]["warnings"])')" = True ] \
  || fail "the other unit's failure is not a warning"
stderr_has "warning"

guest_stop
make_record vm-other2
boot_lines "$CON"
say "$CON" "[ 20.1] systemd[1]: systemd-networkd-wait-online.service: Failed with result 'timeout'."
expect_rc 4 in_ns vm-wait-ready --unit systemd-networkd-wait-online <"$REC"
[ "$(field "$OUT" 'r["ready"]["unit"]')" = systemd-networkd-wait-online.service ] || fail "--unit not taken"
pass "another unit's failure is a warning; with --unit it is the verdict"
