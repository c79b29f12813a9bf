#!/usr/bin/env bash
# gc reclaims the lease of a VM whose VMM died (named by pid + start time in
# the record's vmm section) and deletes its TAP; a live one is kept; the
# grace period protects young leases.
. "$(dirname "$0")/lib.sh"
make_netns

in_ns vmnet-alloc --pool 10.80.0.0/24 --bridge vmubr0 --create-bridge --id vm-dead -q >/dev/null
in_ns vmnet-alloc --pool 10.80.0.0/24 --bridge vmubr0 --id vm-live -q >/dev/null

# A "VMM" the test starts and kills, and one that stays alive.
sleep 300 & dead=$!
sleep 300 & live=$!
on_exit "kill $live 2>/dev/null"
start_of() { awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$1/stat"; }
dead_start=$(start_of $dead)
live_start=$(start_of $live)
kill $dead; wait $dead 2>/dev/null || true
set_vmm() {
  python3 - "$S/vms/$1/record.json" "$2" "$3" <<'PY'
import json, sys
p, pid, st = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = json.load(open(p)); r["vmm"] = {"backend": "qemu", "pid": pid, "start_time": st}
open(p, "w").write(json.dumps(r) + "\n")
PY
}
set_vmm vm-dead $dead $dead_start
set_vmm vm-live $live $live_start

expect_rc 0 in_ns vmnet-alloc gc
[ ! -s "$OUT" ] || fail "gc took a lease inside the grace period"
expect_rc 0 in_ns vmnet-alloc gc --grace 0 --dry-run
stdout_has '"id":"vm-dead"'
stdout_has '"freed":false'
in_ns test -e /sys/class/net/vmtap2 || fail "--dry-run deleted the TAP"
expect_rc 0 in_ns vmnet-alloc gc --grace 0
stdout_has '"reason":"vmm_dead"'
grep -q vm-live "$OUT" && fail "gc took the live VM"
in_ns test ! -e /sys/class/net/vmtap2 || fail "gc left the dead VM's TAP"
in_ns test -e /sys/class/net/vmtap3 || fail "gc deleted the live VM's TAP"
in_ns vmnet-alloc list >"$OUT"
grep -q vm-dead "$OUT" && fail "dead lease still listed"
grep -q vm-live "$OUT" || fail "live lease lost"

# State gone entirely is reclaimed too.
rm -rf "$S/vms/vm-live"
expect_rc 0 in_ns vmnet-alloc gc --grace 0
stdout_has '"reason":"no_state"'
pass "gc"
