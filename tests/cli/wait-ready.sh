#!/usr/bin/env bash
# A scripted guest boots (console lines on a schedule), configures its
# address, and its agent begins to answer 2 s later: vm-wait-ready exits 0
# within a moment of the first answer, the record gains ready.ok with the
# milestones, and is saved in the state folder before it is printed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"
wait_setup
make_record vm-ready
(
  sleep 0.3
  boot_lines "$CON"
  sleep 0.3
  say "$CON" "[  OK  ] Started vm-agent.service - vmutils example agent."
) &
guest_addr
guest_http --delay 2 --ready-file "$T/up"
expect_rc 0 in_ns vm-wait-ready <"$REC"
t_end=$(now)
[ "$(field "$OUT" 'r["ready"]["ok"]')" = True ] || fail "ready.ok is not true"
[ "$(field "$OUT" 'r["ready"]["reason"]')" = ready ] || fail "reason is not ready"
[ "$(field "$OUT" '"kernel_up" in r["ready"]["milestones"]')" = True ] || fail "no kernel_up milestone"
[ "$(field "$OUT" '"started:vm-agent.service" in r["ready"]["milestones"]')" = True ] || fail "no unit start"
[ "$(field "$OUT" 'r["ready"]["probe"]["refused"] > 0')" = True ] || fail "refusals not counted"
[ "$(field "$OUT" '"error" in r')" = False ] || fail "a ready record has an error section"
stderr_has "vm-ready: ready after"
cmp -s <(python3 -c 'import json,sys; print(json.dumps(json.loads(open(sys.argv[1]).readline()), sort_keys=True))' "$OUT") \
  <(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$S/vms/vm-ready/record.json") \
  || fail "the printed record differs from the saved one"
lat=$(elapsed "$(cat "$T/up")" "$t_end")
pass "ready; exit $(elapsed "$(cat "$T/up")" "$t_end") s after the agent began to listen"
