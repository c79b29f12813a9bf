#!/usr/bin/env bash
# vm-ls: each state from the record plus a live check of the VMM (pid and
# start time): created, running, ready, failed, exited, stale (no record, a
# damaged record); --failed, --running, --json, the table on a terminal,
# vm-ls ID in full; bad input exits 2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/evidence-lib.sh"
stand_in
fake_vm vm-created
fake_vm vm-running "$PID" "$START"
fake_vm vm-ready "$PID" "$START"
set_section vm-ready ready '{"ok": true, "reason": "ready"}'
fake_vm vm-failed "$PID" "$START"
set_section vm-failed error '{"tool": "vm-wait-ready", "code": 4, "reason": "unit_failed", "message": "x"}'
fake_vm vm-exited 999999 1
fake_vm vm-reused "$PID" "$((START + 1))"  # the pid is another process now
mkdir -p "$S/vms/vm-norecord"
mkdir -p "$S/vms/vm-damaged" && echo '{"v":1,' >"$S/vms/vm-damaged/record.json"

expect_rc 0 vm-ls
declare -A want=([vm-created]=created [vm-running]=running [vm-ready]=ready [vm-failed]=failed
  [vm-exited]=exited [vm-reused]=exited [vm-norecord]=stale [vm-damaged]=stale)
for id in "${!want[@]}"; do
  got=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["id"] == sys.argv[2]: print(r["state"])' "$OUT" "$id")
  [ "$got" = "${want[$id]}" ] || fail "$id: state '$got', expected ${want[$id]}"
done
[ "$(wc -l <"$OUT")" = 8 ] || fail "expected 8 lines, got $(wc -l <"$OUT")"
grep '"id":"vm-failed"' "$OUT" | grep -q '"reason":"unit_failed"' || fail "failed VM without its reason"
grep '"id":"vm-running"' "$OUT" | grep -q "\"console\":\"$S/vms/vm-running/console.log\"" || fail "console path"
grep '"id":"vm-running"' "$OUT" | grep -q "\"pid\":$PID" || fail "pid"
grep '"id":"vm-damaged"' "$OUT" | grep -q '"reason":"bad_record"' || fail "damaged record reason"

expect_rc 0 vm-ls --failed
[ "$(grep -c . "$OUT")" = 1 ] && stdout_has '"id":"vm-failed"' || fail "--failed: $(cat "$OUT")"
expect_rc 0 vm-ls --running --json
[ "$(grep -c . "$OUT")" = 3 ] || fail "--running: $(cat "$OUT")"
for id in vm-running vm-ready vm-failed; do stdout_has "\"id\":\"$id\""; done

# On a terminal: a table with a header.
if command -v script >/dev/null; then
  script -qec "vm-ls" /dev/null >"$T/tty" </dev/null || fail "vm-ls on a terminal failed"
  grep -q '^ID  *STATE  *ADDRESS  *TAP  *BACKEND  *PID  *AGE  *REASON  *CONSOLE' "$T/tty" || { cat "$T/tty" >&2; fail "no table header on a terminal"; }
  grep -q '^vm-failed  *failed ' "$T/tty" || fail "table row"
  script -qec "vm-ls --json" /dev/null >"$T/tty" </dev/null
  head -1 "$T/tty" | grep -q '^{' || fail "--json on a terminal is not JSON Lines"
fi

# One VM in full: the record with its live status.
expect_rc 0 vm-ls vm-ready
[ "$(json "$OUT" 'j["status"]["state"]')" = ready ] || fail "vm-ls ID: state"
[ "$(json "$OUT" 'j["vmm"]["pid"]')" = "$PID" ] || fail "vm-ls ID: the record"
expect_rc 0 vm-ls vm-norecord
[ "$(json "$OUT" 'j["status"]["reason"]')" = no_record ] || fail "vm-ls ID of a stale folder"

expect_rc 2 vm-ls vm-nosuch
stderr_has "unknown VM 'vm-nosuch'"
expect_rc 2 vm-ls 'Bad/Id'
expect_rc 0 vm-ls --state-dir "$T/empty"
[ ! -s "$OUT" ] || fail "an empty state folder listed something"
pass "vm-ls: created, running, ready, failed, exited (also a reused pid), stale; filters, table, full view"
