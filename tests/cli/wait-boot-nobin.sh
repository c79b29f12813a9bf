#!/usr/bin/env bash
# A real boot whose agent unit's ExecStart binary is missing: exit 4,
# unit_failed, the unit and the missing program named, 203/EXEC in words.
# Prints its time to verdict.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/boot-lib.sh"
SESSION_ID=boot-$$ boot_vm vm-nobin --unit "$AGENT_UNIT" --env SESSION_ID
rc=0
in_ns vm-wait-ready <"$BOOT_REC" >"$OUT" 2>"$ERR" || rc=$?
took=$(awk -v a="$BOOT_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ "$rc" = 4 ] || { cat "$ERR" >&2; boot_report vm-nobin; fail "exit $rc after $took s, expected 4"; }
python3 - "$OUT" <<'PY' || { cat "$ERR" >&2; fail "the ready section is wrong"; }
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["ready"]["reason"] == "unit_failed", r["ready"]
assert r["ready"]["unit"] == "vm-agent.service", r["ready"]
assert "Failed to locate executable /opt/vm-agent/vm-agent" in r["ready"]["message"], r["ready"]["message"]
assert "203/EXEC" in r["ready"]["message"], r["ready"]["message"]
assert r["error"]["code"] == 4 and r["error"]["reason"] == "unit_failed", r["error"]
PY
pass "ExecStart missing: verdict $took s after the VMM started: $(grep -o 'unit_failed after.*' "$ERR")"
