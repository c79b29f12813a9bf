#!/usr/bin/env bash
# A healthy VM through its whole life on a real boot, with vm-ls at each
# step (created, running, ready — the verdict is vm-wait-ready's): from
# stdin a ready VM passes through vm-destroy untouched; named, it is
# destroyed — QEMU powered off through QMP, nothing archived (it did not
# fail), and no process, TAP, lease, DHCP entry, socket folder or state
# left. Destroying it again is fine (exit 0). A stale state folder (no
# record) is listed and destroyed too.
. "$(dirname "$0")/lib.sh"
BOOT_POOL=10.86.0.0/24 BOOT_BR=vmubr6
. "$(dirname "$0")/boot-lib.sh"
id=vm-healthy$$

boot_alloc "$id"
[ "$(vm_state "$id")" = created ] || fail "after vmnet-alloc: $(vm_state "$id"), expected created"
SESSION_ID=healthy-$$-secret boot_launch "$id" \
  --copy "$AGENT_BIN:/opt/vm-agent/vm-agent:0755" --unit "$AGENT_UNIT" \
  --env SESSION_ID --persist-journal
[ "$(vm_state "$id")" = running ] || fail "after fc-launch: $(vm_state "$id"), expected running"
pid=$BOOT_PID
tap=$(json "$BOOT_REC" 'j["net"]["tap"]')
dhcp=$(json "$BOOT_REC" 'j["net"]["dhcp_host_file"]')
boot_ready "$id" --timeout 4m
[ "$RC" = 0 ] || { cat "$ERR" >&2; boot_report "$id"; fail "vm-wait-ready: exit $RC, expected 0"; }
[ "$(vm_state "$id")" = ready ] || fail "after the verdict: $(vm_state "$id"), expected ready"
vm-ls "$id" >"$T/full"
[ "$(json "$T/full" 'j["status"]["vmm_alive"]')" = True ] || fail "vm-ls ID: vmm_alive not true"

# From stdin, ready: printed untouched, nothing done.
expect_rc 0 vm-destroy <"$S/vms/$id/record.json"
cmp -s <(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$S/vms/$id/record.json") \
  <(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.read()), sort_keys=True))' <"$OUT") \
  || fail "a ready record did not pass through untouched"
stderr_has "passed through"
vmm_runs "$pid" || fail "the VMM of a passed-through VM was stopped"

# A stale folder beside it.
mkdir -p "$S/vms/vm-stale$$"
[ "$(vm_state "vm-stale$$")" = stale ] || fail "a folder without a record is not stale"

# Named: destroyed.
t0=$(date +%s.%N)
expect_rc 0 in_ns vm-destroy "$id" "vm-stale$$"
took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
grep "\"id\":\"$id\"" "$OUT" >"$T/destroyed"
# QMP first: system_powerdown, then quit. The kit's minbase guest has no
# power-button handler (no logind, no acpid), so it ignores the request and
# its silent console cuts the wait short; a guest that acts on it powers off.
how=$(json "$T/destroyed" 'j["destroyed"]["vmm"]')
case $how in
  powerdown) ;;
  quit) stderr_has "the guest ignored it (its console stayed silent" ;;
  *) cat "$ERR" >&2; fail "the VMM was not stopped through QMP: $how" ;;
esac
stderr_has "asked the guest to power off (QMP system_powerdown)"
[ "$(json "$T/destroyed" 'j["destroyed"]["archive"]')" = None ] || fail "a healthy VM was archived"
[ "$(json "$T/destroyed" 'j["destroyed"]["lease"]')" = released ] || fail "lease not released"
stderr_has "$id: stopped the VMM (pid $pid)"
stderr_has "$id: destroyed"
vmm_runs "$pid" && { cat "$ERR" >&2; ps -o pid,stat,cmd -p "$pid" >&2; fail "VMM $pid still runs"; }
in_ns ip link show "$tap" >/dev/null 2>&1 && fail "TAP $tap still exists"
[ -e "$dhcp" ] && fail "DHCP host file $dhcp still exists"
[ -e "$S/vms/$id" ] && fail "state folder left"
[ -e "$S/vms/vm-stale$$" ] && fail "stale state folder left"
[ -e "$T/run/$id" ] && fail "run folder (QMP socket) left"
[ -z "$(ls -A "$S/archive" 2>/dev/null)" ] || fail "something was archived: $(ls "$S/archive")"
in_ns vmnet-alloc list >"$T/leases"
grep -q "$id" "$T/leases" && fail "lease of $id still listed"
[ -z "$(vm-ls --json)" ] || fail "vm-ls still lists VMs: $(vm-ls --json)"

# Again: nothing found, still exit 0.
expect_rc 0 in_ns vm-destroy "$id"
stderr_has "not found: state folder"
pass "healthy VM ($(json "$BOOT_REC" 'j["vmm"]["accel"]')): created, running, ready; destroyed in ${took}s ($how), nothing left, twice"
