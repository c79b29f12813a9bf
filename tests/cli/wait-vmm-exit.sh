#!/usr/bin/env bash
# The VMM dies: the wait ends at once with vmm_exited, the tail of vmm.log
# quoted (e.g. QEMU's KVM internal error), and the milestone the guest
# reached. A VMM already gone when the wait begins: the same, immediately.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"
wait_setup
make_record vm-dies
boot_lines "$CON"
printf 'KVM internal error. Suberror: 1\nemulation failure\n' >"$S/vms/vm-dies/vmm.log"
pid=$VMM_PID
( sleep 1; kill -9 "$pid"; now >"$T/killed" ) &
expect_rc 4 in_ns vm-wait-ready <"$REC"
t_end=$(now)
[ "$(field "$OUT" 'r["ready"]["reason"]')" = vmm_exited ] || fail "reason is not vmm_exited"
stderr_has "the VMM (pid $pid) exited"
stderr_has "vmm.log ends: emulation failure"
stderr_has "the guest had reached init_started"
[ "$(field "$OUT" 'r["ready"]["vmm"]["log_tail"][0]')" = "KVM internal error. Suberror: 1" ] || fail "log tail"
lat=$(elapsed "$(cat "$T/killed")" "$t_end")

make_record vm-gone
kill -9 "$VMM_PID"; wait "$VMM_PID" 2>/dev/null || true
expect_rc 4 in_ns timeout 10 vm-wait-ready <"$REC"
[ "$(field "$OUT" 'r["ready"]["reason"]')" = vmm_exited ] || fail "gone VMM: reason is not vmm_exited"
stderr_has "it was not running when the wait began"

# A reused pid is not the VMM: the record's start time does not match.
make_record vm-reused
python3 - "$REC" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r["vmm"]["start_time"] += 1
json.dump(r, open(sys.argv[1], "w"))
PY
expect_rc 4 in_ns timeout 10 vm-wait-ready <"$REC"
[ "$(field "$OUT" 'r["ready"]["reason"]')" = vmm_exited ] || fail "reused pid taken for the VMM"
pass "vmm_exited $lat s after the kill"
