#!/usr/bin/env bash
# A console full of what real consoles hold: ANSI colour and cursor codes,
# CR redraws, NULs, random bytes, an overlong line, a line cut in the
# middle of a write, a login prompt without newline with the next line
# glued to it. The failure line is still found, the record is valid JSON.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"
wait_setup
make_record vm-junk
boot_lines "$CON"
head -c 20000 /dev/urandom >>"$CON"
printf '\r\n' >>"$CON"
python3 -c 'import sys; sys.stdout.write("A" * 100000 + "\r\n")' >>"$CON"
printf '\x1bM\r\x1b[K[\x1b[0;31m*\x1b[0;1;31m*\x1b[0m] Job x/start running (3s / 1min)\r\r\n' >>"$CON"
printf 'vmguest login: ' >>"$CON"
(
  sleep 0.4
  printf '[   41.4\x00\x00' >>"$CON"
  sleep 0.3
  printf '62088] systemd[1]: \x1b[0;1;39mvm-agent.service\x1b[0m: Main process exited, code=exited, status=217/USER\r\n' >>"$CON"
  printf '[   41.5] systemd[1]: vm-agent.service: Failed with result '"'"'exit-code'"'"'.\r\n' >>"$CON"
) &
expect_rc 4 in_ns vm-wait-ready --timeout 30 <"$REC"
[ "$(field "$OUT" 'r["ready"]["reason"]')" = unit_failed ] || fail "reason is not unit_failed"
stderr_has "exit status 217/USER: the User= could not be found or set"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$OUT" || fail "stdout is not JSON Lines"
[ "$(field "$OUT" 'any("vmguest login: [   41.462088] systemd[1]: vm-agent.service" in e for e in r["ready"]["evidence"])')" = True ] \
  || fail "the line glued to the login prompt is not the evidence"
pass "garbage survived; the failure found"
