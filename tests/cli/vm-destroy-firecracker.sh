#!/usr/bin/env bash
# vm-destroy of a Firecracker VM (the fake API server of tests/, which
# enforces the official rules): SendCtrlAltDel through PUT /actions after
# boot; with reboot=k the guest "reboots" and Firecracker exits, so no
# signal is needed. A record that arrived failed is archived first.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fc-launch-common.sh"
. "$(dirname "$0")/evidence-lib.sh"
id=vm-fcd
new_record "$id" >"$T/rec"
export FAKE_FC_REQUEST_LOG="$T/requests.jsonl"
expect_rc 0 "${FCL[@]}" <"$T/rec"
cp "$OUT" "$T/launched"
on_exit "kill_vmm '$T/launched'"
pid=$(json "$T/launched" 'j["vmm"]["pid"]')
python3 - "$T/launched" >"$T/failed" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["error"] = {"tool": "vm-wait-ready", "code": 4, "reason": "boot_stalled", "message": "stalled"}
print(json.dumps(r))
PY
expect_rc 0 vm-destroy --grace 5s <"$T/failed"
[ "$(json "$OUT" 'j["destroyed"]["vmm"]')" = ctrl_alt_del ] || { cat "$ERR" >&2; fail "not stopped by Ctrl+Alt+Del"; }
stderr_has "sent Ctrl+Alt+Del to the guest (PUT /actions SendCtrlAltDel)"
grep -q '"body": {"action_type": "SendCtrlAltDel"}' "$FAKE_FC_REQUEST_LOG" \
  || python3 -c 'import json,sys
assert any(r["path"] == "/actions" and r["body"] == {"action_type": "SendCtrlAltDel"} and r["status"] == 204
           for r in map(json.loads, open(sys.argv[1])))' "$FAKE_FC_REQUEST_LOG" \
  || fail "the fake saw no accepted SendCtrlAltDel"
runs "$pid" && fail "Firecracker $pid still runs"
archive=$(json "$OUT" 'j["destroyed"]["archive"]')
[ -f "$archive" ] || { cat "$ERR" "$OUT" >&2; fail "a failed VM was not archived"; }
[ "$(json "$OUT" 'j["error"]["reason"]')" = boot_stalled ] || fail "the record's error was not kept"
[ -e "$S/vms/$id" ] && fail "state left"
[ -e "$T/run/$id" ] && fail "API socket folder left"
pass "Firecracker stopped by SendCtrlAltDel; failed record archived, error kept, state removed"
