#!/usr/bin/env bash
# The agent's unit fails (the journal forwarded to the console, as fc-launch
# arranges): exit 4 within about a second of the decisive line, reason
# unit_failed, the unit named, the agent's own stderr quoted, 203/EXEC in
# words, and the error section set. The guest never answers the probe.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"
wait_setup
make_record vm-fail
boot_lines "$CON"
(
  sleep 1.5
  say "$CON" "[   41.398084] vm-agent[167]: SESSION_ID not set" \
    "[   41.462088] systemd[1]: vm-agent.service: Main process exited, code=exited, status=1/FAILURE" \
    "[   41.638099] systemd[1]: vm-agent.service: Failed with result 'exit-code'."
  now >"$T/said"
) &
expect_rc 4 in_ns vm-wait-ready <"$REC"
t_end=$(now)
[ "$(field "$OUT" 'r["ready"]["reason"]')" = unit_failed ] || fail "reason is not unit_failed"
[ "$(field "$OUT" 'r["ready"]["unit"]')" = vm-agent.service ] || fail "the unit is not named"
[ "$(field "$OUT" 'r["error"]["code"]')" = 4 ] || fail "error.code is not 4"
[ "$(field "$OUT" 'r["error"]["reason"]')" = unit_failed ] || fail "error.reason"
[ "$(field "$OUT" 'r["error"]["tool"]')" = vm-wait-ready ] || fail "error.tool"
[ "$(field "$OUT" 'any("SESSION_ID not set" in e for e in r["ready"]["evidence"])')" = True ] \
  || fail "the agent's own message is not in the evidence"
stderr_has 'vm-fail: unit_failed after'
stderr_has 'vm-agent.service: vm-agent said "SESSION_ID not set" (exit status 1/FAILURE'
lat=$(elapsed "$(cat "$T/said")" "$t_end")
awk -v l="$lat" 'BEGIN { exit !(l < 5) }' || fail "verdict $lat s after the console line"

# ExecStart missing: systemd's own words and the status in words.
make_record vm-nobin
boot_lines "$CON"
say "$CON" "[ 39.4] (vm-agent)[168]: vm-agent.service: Failed to locate executable /opt/vm-agent/vm-agent: No such file or directory" \
  "[ 39.5] systemd[1]: vm-agent.service: Main process exited, code=exited, status=203/EXEC" \
  "[FAILED] Failed to start vm-agent.service - vmutils example agent."
expect_rc 4 in_ns vm-wait-ready <"$REC"
stderr_has "vm-agent.service: Failed to locate executable /opt/vm-agent/vm-agent: No such file or directory (exit status 203/EXEC: the program could not be executed"
pass "unit_failed $lat s after the console line; 203/EXEC in words"
