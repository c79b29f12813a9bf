#!/usr/bin/env bash
# vm-destroy at the end of a pipeline (`... | vm-wait-ready | vm-destroy`):
# a ready VM passes through untouched (printed as it came, its VMM still
# running) unless --all; a failed one — records that arrive with `error`
# are the documented exception to "failed records pass through" — is
# archived and destroyed, its error kept; a bad input line is reported
# and the exit code is 2 at the end. --failed cleans every failed VM of the
# state folder; --archive never / always.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/evidence-lib.sh"
stand_in
fake_vm vm-ok "$PID" "$START"
set_section vm-ok ready '{"ok": true, "reason": "ready"}'
fake_vm vm-bad 999999 1
set_section vm-bad ready '{"ok": false, "reason": "unit_failed"}'
set_section vm-bad error '{"tool": "vm-wait-ready", "code": 4, "reason": "unit_failed", "message": "x"}'
{ cat "$S/vms/vm-ok/record.json"; echo; echo 'not json'; cat "$S/vms/vm-bad/record.json"; echo; } >"$T/in"
expect_rc 2 vm-destroy <"$T/in"
stderr_has "standard input line 2"
grep '"id":"vm-ok"' "$OUT" >"$T/ok.out"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); assert a==b' \
  "$T/ok.out" "$S/vms/vm-ok/record.json" || fail "the ready record did not pass through untouched"
runs "$PID" || fail "the ready VM's VMM was stopped"
grep '"id":"vm-bad"' "$OUT" >"$T/bad.out"
[ "$(json "$T/bad.out" 'j["error"]["tool"]')" = vm-wait-ready ] || fail "the failed record's error was not kept"
archive=$(json "$T/bad.out" 'j["archive"]["path"]')
[ -f "$archive" ] || fail "the failed VM was not archived"
grep -aqF "$SECRET" "$archive" && fail "the secret is in the archive"
[ -e "$S/vms/vm-bad" ] && fail "the failed VM's state is left"
[ -e "$S/vms/vm-ok" ] || fail "the ready VM's state was removed"
# The same failed record again: nothing left, exit 0, no second archive.
sed -n 3p "$T/in" >"$T/bad.in"
expect_rc 0 vm-destroy <"$T/bad.in"
stderr_has "not found: anything to archive (the state folder is gone)"
[ "$(ls "$S/archive" | wc -l)" = 1 ] || fail "a second archive of a gone VM"

# --all: ready ones too; --archive never: nothing archived.
expect_rc 0 vm-destroy --all --archive never <"$S/vms/vm-ok/record.json"
[ "$(json "$OUT" 'j["destroyed"]["vmm"]')" = sigterm ] || fail "--all did not destroy the ready VM"
runs "$PID" && fail "its VMM still runs"
[ "$(ls "$S/archive" | wc -l)" = 1 ] || fail "--archive never archived"

# --failed: every failed VM of the state folder, and only those.
fake_vm vm-f1 999998 1
set_section vm-f1 ready '{"ok": false, "reason": "timeout"}'
fake_vm vm-f2 999997 1
set_section vm-f2 error '{"tool": "fc-launch", "code": 1, "reason": "spawn_failed", "message": "x"}'
fake_vm vm-keep
expect_rc 0 vm-destroy --failed --archive always
[ "$(grep -c . "$OUT")" = 2 ] || fail "--failed: $(cat "$OUT")"
[ -e "$S/vms/vm-f1" ] || [ -e "$S/vms/vm-f2" ] && fail "--failed left a failed VM"
[ -e "$S/vms/vm-keep" ] || fail "--failed removed a VM that did not fail"
[ "$(ls "$S/archive" | wc -l)" = 3 ] || fail "--failed --archive always: $(ls "$S/archive")"
expect_rc 0 vm-destroy --failed
stderr_has "no failed VM"
[ ! -s "$OUT" ] || fail "nothing to do printed something"
pass "pipeline: ready passed through, failed archived and destroyed, --all, --failed, --archive"
