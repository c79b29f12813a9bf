#!/usr/bin/env bash
# A real boot whose agent unit is installed but not enabled (copied, not
# --unit): it never starts. vm-wait-ready --unit vm-agent exits 4 with
# unit_not_started well before the deadline. Prints its time to verdict.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/boot-lib.sh"
SESSION_ID=boot-$$ boot_vm vm-off --copy "$AGENT_BIN:/opt/vm-agent/vm-agent:0755" \
  --copy "$AGENT_UNIT:/etc/systemd/system/vm-agent.service:0644" --env SESSION_ID
rc=0
in_ns vm-wait-ready --unit vm-agent --timeout 120 <"$BOOT_REC" >"$OUT" 2>"$ERR" || rc=$?
took=$(awk -v a="$BOOT_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ "$rc" = 4 ] || { cat "$ERR" >&2; boot_report vm-off; fail "exit $rc after $took s, expected 4"; }
python3 - "$OUT" <<'PY' || { cat "$ERR" >&2; fail "the ready section is wrong"; }
import json, sys
r = json.loads(open(sys.argv[1]).readline())["ready"]
assert r["reason"] == "unit_not_started", r
assert r["unit"] == "vm-agent.service", r
assert r["elapsed_ms"] < 100000, r["elapsed_ms"]
assert "multi_user" in r["milestones"], r["milestones"]
PY
pass "unit not enabled: verdict $took s after the VMM started (deadline 120 s): $(grep -o 'unit_not_started after.*' "$ERR")"
