#!/usr/bin/env bash
# Several VMs through one vm-wait-ready process, records arriving on stdin
# over time: each leaves as soon as its own verdict is known (completion
# order, not input order), all from one thread, and the exit code is that
# of the first record that failed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"
wait_setup
guest_addr
# vm-slow: ready when the agent answers (after 5 s); vm-fast: its unit fails
# at 0.5 s (a verdict after the 800 ms settle); vm-late arrives after 2 s,
# its console already showing a panic; vm-mid: panics at 3.5 s.
make_record vm-slow; r1=$REC; c1=$CON
make_record vm-fast; r2=$REC; c2=$CON
make_record vm-mid; r3=$REC; c3=$CON
make_record vm-late; r4=$REC; c4=$CON
for c in "$c1" "$c2" "$c3" "$c4"; do boot_lines "$c"; done
say "$c1" "[  OK  ] Started vm-agent.service - vmutils example agent."
guest_http --delay 5
(
  sleep 0.5; say "$c2" "[ 9.0] systemd[1]: vm-agent.service: Main process exited, code=exited, status=203/EXEC" "[ 9.0] systemd[1]: vm-agent.service: Failed with result 'exit-code'."
  sleep 3; say "$c3" "[ 9.0] Kernel panic - not syncing: Fatal exception"
) &
say "$c4" "[ 9.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100"
(
  cat "$r1" "$r2" "$r3"
  sleep 2
  cat "$r4"
  sleep 6   # stdin stays open while the others are waited for
) | in_ns vm-wait-ready >"$OUT" 2>"$ERR" &
wpid=$!
sleep 1.5
tool_pid=$(for p in $(ip netns pids "$NS"); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = vm-wait-ready ] && echo "$p"; done | head -1)
[ -n "$tool_pid" ] || fail "vm-wait-ready is not running"
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$tool_pid/status")
rc=0
wait "$wpid" || rc=$?
[ "$rc" = 4 ] || { cat "$ERR" >&2; fail "exit $rc, expected 4 (the first failure)"; }
# One thread waits for every VM; at most 8 more save records (fsync) so the
# wait never stalls on a disk: never a thread per VM.
[ "$threads" -le 9 ] || fail "vm-wait-ready ran $threads threads"
order=$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in open(sys.argv[1])))' "$OUT")
[ "$order" = "vm-fast vm-late vm-mid vm-slow" ] || fail "completion order is '$order'"
[ "$(sed -n 4p "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ready"]["ok"])')" = True ] \
  || fail "vm-slow is not ready"
pass "4 VMs, one process, $threads thread(s) at 1.5 s: $order"
