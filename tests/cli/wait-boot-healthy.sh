#!/usr/bin/env bash
# A real boot of the guest kit with the example agent (and the reporter):
# vm-wait-ready exits 0 once /health answers 200. Prints its time to verdict.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/boot-lib.sh"
SESSION_ID=boot-$$ boot_vm vm-ok --copy "$AGENT_BIN:/opt/vm-agent/vm-agent:0755" \
  --unit "$AGENT_UNIT" --env SESSION_ID --reporter
rc=0
in_ns vm-wait-ready <"$BOOT_REC" >"$OUT" 2>"$ERR" || rc=$?
took=$(awk -v a="$BOOT_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ "$rc" = 0 ] || { cat "$ERR" >&2; boot_report vm-ok; fail "exit $rc after $took s, expected 0"; }
python3 - "$OUT" <<'PY' || fail "the ready section is wrong"
import json, sys
r = json.loads(open(sys.argv[1]).readline())["ready"]
assert r["ok"] and r["reason"] == "ready", r
assert "kernel_up" in r["milestones"] and "started:vm-agent.service" in r["milestones"], r["milestones"]
assert r["units"]["vm-agent.service"]["state"] == "running", r["units"]
PY
grep -q "vm-ok: ready after" "$ERR" || fail "no verdict line"
pass "healthy boot: ready $took s after the VMM started: $(grep -o 'ready after.*' "$ERR")"
