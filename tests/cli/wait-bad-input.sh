#!/usr/bin/env bash
# Bad input: a clear one-line error naming what and quoting it, the right
# exit code, and the other records still handled. A record failed upstream
# passes through untouched and does not change the exit code.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"

expect_rc 2 vm-wait-ready --timeout 5x --id vm-x
stderr_has "'5x' is not a duration"
expect_rc 2 vm-wait-ready --port 70000 --id vm-x
stderr_has "--port: '70000' is not a number from 1 to 65535"
expect_rc 2 vm-wait-ready --expect-status 2000 --id vm-x
stderr_has "'2000' is not an HTTP status"
expect_rc 2 vm-wait-ready --grace nope=1s --id vm-x
stderr_has "'nope=1s' is not NAME=DURATION"
expect_rc 2 vm-wait-ready --fail-on '(' --id vm-x
stderr_has "--fail-on: '(' is not a valid regular expression"
expect_rc 2 vm-wait-ready --path 'no-slash' --id vm-x
stderr_has "'no-slash' is not a URL path"
expect_rc 2 vm-wait-ready --id vm-nosuch
stderr_has "vm-nosuch"

# Records: one not launched (no vmm), one not JSON, one failed upstream.
printf '%s\n' \
  '{"v":1,"id":"vm-nolaunch","net":{"ip":"10.91.0.2"}}' \
  'not json' \
  '{"v":1,"id":"vm-failed","error":{"tool":"fc-launch","code":1,"reason":"x","message":"m"}}' \
  '{"v":1,"id":"vm-noip","vmm":{"pid":1}}' >"$T/in"
expect_rc 2 vm-wait-ready <"$T/in"
stderr_has "vm-nolaunch: record 'vm-nolaunch' has no vmm.pid: the VM was not launched (run fc-launch first)"
stderr_has "standard input line 2:"
stderr_has "vm-noip: record 'vm-noip' has no net.ip"
[ "$(wc -l <"$OUT")" = 3 ] || fail "expected 3 records out"
python3 - "$OUT" "$T/in" <<'PY' || fail "the failed record was changed"
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
want = json.loads(open(sys.argv[2]).readlines()[2])
assert want in out, out
PY
[ -e "$S/vms/vm-failed/record.json" ] && fail "the failed record was saved again"
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["reason"])' "$S/vms/vm-nolaunch/record.json")" = not_launched ] \
  || fail "the refused record was not saved with its error"

# Only a record failed upstream: exit 0.
sed -n 3p "$T/in" >"$T/in2"
expect_rc 0 vm-wait-ready <"$T/in2"

# A terminal on stdin is not records.
if command -v script >/dev/null; then
  script -qec "$VMU_BIN/vm-wait-ready" /dev/null >"$T/tty" 2>&1 || true
  grep -q "no records" "$T/tty" || { cat "$T/tty" >&2; fail "tty stdin not refused"; }
fi
pass "bad input refused in words"
