#!/usr/bin/env bash
# The program reading vm-wait-ready's output exits: vm-wait-ready stops
# waiting at once (nobody would receive a verdict), says in one line which
# VMs it did not wait for, and exits 1, long before the deadline.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
wait_setup
make_record vm-unread
boot_lines "$CON"
t0=$(now)
rc=0
python3 "$here/closed-pipe.py" gone ip netns exec "$NS" vm-wait-ready --timeout 60 <"$REC" \
  >"$OUT" 2>"$ERR" || rc=$?
took=$(elapsed "$t0" "$(now)")
[ "$rc" -eq 1 ] || { cat "$ERR" >&2; fail "exit $rc, want 1"; }
[ "$(grep -c 'standard output was closed' "$ERR")" -eq 1 ] || { cat "$ERR" >&2; fail "not one line"; }
stderr_has "not worked on: vm-unread"
awk -v t="$took" 'BEGIN { exit !(t < 10) }' || fail "it went on waiting for $took s"
pass "a closed stdout ends the wait in $took s, in one line, exit 1"
