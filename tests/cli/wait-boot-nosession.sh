#!/usr/bin/env bash
# A real boot whose agent starts without SESSION_ID (no --env): the agent
# prints "SESSION_ID not set" and exits 1. Exit 4, unit_failed, the unit
# named and the agent's own message quoted. Prints its time to verdict.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/boot-lib.sh"
boot_vm vm-nosess --copy "$AGENT_BIN:/opt/vm-agent/vm-agent:0755" --unit "$AGENT_UNIT" \
  --env LOG_LEVEL=info
rc=0
in_ns vm-wait-ready <"$BOOT_REC" >"$OUT" 2>"$ERR" || rc=$?
took=$(awk -v a="$BOOT_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ "$rc" = 4 ] || { cat "$ERR" >&2; boot_report vm-nosess; fail "exit $rc after $took s, expected 4"; }
python3 - "$OUT" <<'PY' || { cat "$ERR" >&2; fail "the ready section is wrong"; }
import json, sys
r = json.loads(open(sys.argv[1]).readline())["ready"]
assert r["reason"] == "unit_failed", r
assert r["unit"] == "vm-agent.service", r
assert 'vm-agent said "SESSION_ID not set"' in r["message"], r["message"]
assert any("SESSION_ID not set" in e for e in r["evidence"]), r["evidence"]
PY
pass "no SESSION_ID: verdict $took s after the VMM started: $(grep -o 'unit_failed after.*' "$ERR")"
