#!/usr/bin/env bash
# A unit that keeps failing and being restarted: unit_crash_loop at the
# third restart; and when systemd gives up (start limit), at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"
wait_setup
make_record vm-loop
boot_lines "$CON"
(
  for i in 1 2 3; do
    sleep 0.3
    say "$CON" "[ 1$i.0] systemd[1]: Started vm-agent.service - vmutils example agent." \
      "[ 1$i.1] vm-agent[20$i]: cannot open /var/lib/agent/state.db: Permission denied" \
      "[ 1$i.2] systemd[1]: vm-agent.service: Main process exited, code=exited, status=1/FAILURE" \
      "[ 1$i.2] systemd[1]: vm-agent.service: Failed with result 'exit-code'." \
      "[ 1$i.3] systemd[1]: vm-agent.service: Scheduled restart job, restart counter is at $i."
  done
) &
expect_rc 4 in_ns vm-wait-ready <"$REC"
[ "$(field "$OUT" 'r["ready"]["reason"]')" = unit_crash_loop ] || fail "reason is not unit_crash_loop"
stderr_has "vm-agent.service keeps failing: systemd restarted it 3 times"
stderr_has "Permission denied"

make_record vm-limit
boot_lines "$CON"
say "$CON" "[ 20.0] systemd[1]: vm-agent.service: Start request repeated too quickly." \
  "[ 20.0] systemd[1]: vm-agent.service: Failed with result 'exit-code'." \
  "[FAILED] Failed to start vm-agent.service - vmutils example agent."
expect_rc 4 in_ns vm-wait-ready <"$REC"
[ "$(field "$OUT" 'r["ready"]["reason"]')" = unit_crash_loop ] || fail "start limit: not unit_crash_loop"
stderr_has "gave up (start request repeated too quickly)"
pass "crash loops named"
