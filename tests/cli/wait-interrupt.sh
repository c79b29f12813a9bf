#!/usr/bin/env bash
# SIGINT (or SIGTERM) while waiting: every VM still waited for leaves with
# error code 130 (saved, then printed), the exit code is 130, at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"
wait_setup
make_record vm-int
boot_lines "$CON"
in_ns vm-wait-ready <"$REC" >"$OUT" 2>"$ERR" &
w=$!
sleep 1.5
for p in $(ip netns pids "$NS"); do
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = vm-wait-ready ] && kill -INT "$p"
done
t0=$(now)
rc=0
wait "$w" || rc=$?
took=$(elapsed "$t0" "$(now)")
[ "$rc" = 130 ] || { cat "$ERR" >&2; fail "exit $rc, expected 130"; }
[ "$(field "$OUT" 'r["error"]["code"]')" = 130 ] || fail "error.code is not 130"
[ "$(field "$OUT" 'r["ready"]["reason"]')" = interrupted ] || fail "ready.reason is not interrupted"
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["reason"])' "$S/vms/vm-int/record.json")" = interrupted ] \
  || fail "the record was not saved"
stderr_has "vm-int: interrupted"
awk -v t="$took" 'BEGIN { exit !(t < 2) }' || fail "took $took s to stop"
pass "interrupted in $took s, record saved with error 130"
