# Shared setup of the tests that boot the guest kit (sourced after lib.sh):
# root, QEMU and dnsmasq; the kit ($VMUTILS_GUEST_KIT, else the build tree's,
# built if missing and possible); a network namespace with the bridge and
# the dnsmasq of DESIGN.md; the real pipeline, vmnet-alloc | rootfs-clone |
# agent-inject | fc-launch --vmm qemu, and vm-wait-ready's verdict. The one
# boot helper of the tests (vm-wait-ready's, vm-destroy's, the demo's).
# Everything (VMMs, dnsmasq, namespace with its TAPs and bridge) is removed
# on exit, also when the test fails.
#
# Interface (kept stable; other tests build on it):
#   KIT, AGENT_BIN, AGENT_UNIT    the kit and its example agent (binary, unit)
#   BOOT_POOL, BOOT_BR            pool and bridge (set before sourcing to change)
#   boot_vm ID [INJECT ARGS...]   boot_alloc + boot_launch: a booting VM
#   boot_alloc ID                 lease, TAP, DHCP entry (bridge and dnsmasq
#                                 with the first); record in $T/ID.1
#   boot_launch ID [INJECT ARGS...]  clone, inject, launch a VM boot_alloc made
#   BOOT_REC, BOOT_PID, BOOT_T0   after boot_launch/boot_vm: the record file
#                                 (fc-launch's output), the VMM's pid, when it
#                                 was started (date +%s.%N)
#   boot_ready ID [ARGS...]       vm-wait-ready --id ID ARGS in the namespace:
#                                 the verdict saved in the record; $OUT, $ERR
#                                 and $RC as expect_rc leaves them, no check
#   boot_console ID REGEX SECS    wait until the console matches (bounded)
#   boot_report ID                console tail and vmm.log, for a failure
#   json FILE EXPR                a Python expression over the JSON in FILE (j)
#   vm_state ID                   the state vm-ls gives the VM
#   vmm_runs PID                  the process runs (not a zombie)
need_root
need_cmd qemu-system-x86_64
need_cmd dnsmasq
need_cmd python3
BOOT_SRC=${VMU_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KIT=${VMUTILS_GUEST_KIT:-$BOOT_SRC/build/guest-kit}
boot_kit_ok() {
  local f
  for f in vmlinux initrd.img rootfs.ext4 agent/vm-agent agent/vm-agent.service; do
    [ -s "$KIT/$f" ] || return 1
  done
}
if ! boot_kit_ok; then
  [ -x "$BOOT_SRC/scripts/build-guest-kit" ] || skip "no guest kit at $KIT and no scripts/build-guest-kit"
  echo "building the guest kit into $KIT (scripts/build-guest-kit)" >&2
  "$BOOT_SRC/scripts/build-guest-kit" --out "$KIT" >&2 || skip "no guest kit at $KIT and building it failed"
  boot_kit_ok || skip "scripts/build-guest-kit did not produce a full kit in $KIT"
fi
for t in vmnet-alloc rootfs-clone agent-inject fc-launch vm-wait-ready vm-ls; do
  command -v "$t" >/dev/null || fail "$t is not built"
done

BOOT_POOL=${BOOT_POOL:-10.87.0.0/24}
BOOT_BR=${BOOT_BR:-vmubrb}
BOOT_HOSTS="$T/dhcp-hosts"
BOOT_DNSMASQ=0

make_netns
chmod 755 "$T"  # dnsmasq drops privileges and must read the hosts folder
mkdir -p "$BOOT_HOSTS"

# json FILE EXPR: a Python expression over the JSON in FILE (as j).
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# boot_alloc ID: the lease, TAP and DHCP entry; the bridge and dnsmasq
# (serving exactly the leased addresses) come with the first.
boot_alloc() {
  local id=$1
  in_ns vmnet-alloc --pool "$BOOT_POOL" --bridge "$BOOT_BR" --create-bridge \
    --dhcp-hostsdir "$BOOT_HOSTS" --id "$id" -q >"$T/$id.1" || fail "vmnet-alloc $id"
  [ "$BOOT_DNSMASQ" = 0 ] || return 0
  in_ns dnsmasq --keep-in-foreground --port=0 --interface="$BOOT_BR" --bind-interfaces \
    --dhcp-range="${BOOT_POOL%/*},static" --dhcp-hostsdir="$BOOT_HOSTS" --pid-file="$T/dnsmasq.pid" \
    --dhcp-leasefile="$T/dnsmasq.leases" --log-dhcp --log-facility="$T/dnsmasq.log" &
  # `ip netns exec` may fork: $! is not dnsmasq. Stop it by its pid file too.
  on_exit "kill \$(cat '$T/dnsmasq.pid' 2>/dev/null) $! 2>/dev/null"
  BOOT_DNSMASQ=1
  local i
  for ((i = 0; i < 50; i++)); do [ -s "$T/dnsmasq.pid" ] && break; sleep 0.1; done
}

# boot_launch ID [AGENT-INJECT ARGS...]: clone the golden, inject, launch.
boot_launch() {
  local id=$1
  shift
  rootfs-clone --golden "$KIT/rootfs.ext4" -q <"$T/$id.1" >"$T/$id.2" || fail "rootfs-clone $id"
  agent-inject -q "$@" <"$T/$id.2" >"$T/$id.3" || fail "agent-inject $id"
  in_ns fc-launch --vmm qemu --kernel "$KIT/vmlinux" --initrd "$KIT/initrd.img" -q \
    <"$T/$id.3" >"$T/$id.4" || { cat "$S/vms/$id/vmm.log" >&2 || true; fail "fc-launch $id"; }
  BOOT_T0=$(date +%s.%N)
  BOOT_REC="$T/$id.4"
  BOOT_PID=$(json "$BOOT_REC" 'j["vmm"]["pid"]')
  on_exit "kill -9 $BOOT_PID 2>/dev/null"
}

# boot_vm ID [AGENT-INJECT ARGS...]: lease, clone, inject, launch.
boot_vm() {
  boot_alloc "$1"
  boot_launch "$@"
}

# boot_ready ID [VM-WAIT-READY ARGS...]: the real verdict, saved in the
# record (vm-wait-ready --id); the caller checks $RC, $OUT, $ERR.
boot_ready() {
  local id=$1
  shift
  RC=0
  in_ns vm-wait-ready --id "$id" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

# boot_console ID REGEX SECONDS: until the console log matches (bounded; a
# VMM that dies ends the wait).
boot_console() {
  local id=$1 re=$2 secs=$3 log="$S/vms/$1/console.log" pid i
  pid=$(json "$S/vms/$id/record.json" 'j["vmm"]["pid"]')
  for ((i = 0; i < secs * 2; i++)); do
    grep -aqE -- "$re" "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  boot_report "$id"
  fail "$id: the console never showed /$re/ within ${secs}s"
}

# boot_report ID: what a failing boot test shows.
boot_report() {
  echo "--- console (tail)" >&2
  sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$S/vms/$1/console.log" 2>/dev/null | tail -30 >&2 || true
  echo "--- vmm.log" >&2
  tail -5 "$S/vms/$1/vmm.log" >&2 || true
}

# vm_state ID: the state vm-ls gives the VM.
vm_state() {
  vm-ls --json | python3 -c 'import json,sys
for l in sys.stdin:
    r = json.loads(l)
    if r["id"] == sys.argv[1]: print(r["state"])' "$1"
}

# vmm_runs PID: the process runs (a zombie waiting for a late reaper does not).
vmm_runs() {
  local s
  s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}

# The agent of the kit.
AGENT_BIN="$KIT/agent/vm-agent"
AGENT_UNIT="$KIT/agent/vm-agent.service"

# boot_dhcp: for pipelines that run whole and in parallel (tests/e2e): the
# bridge, made now by a throwaway VM (vmnet-alloc --create-bridge, then
# vm-destroy: the bridge stays), so parallel allocations never race to create it; dnsmasq
# started now, bound to the bridge (boot_vm will not start another); and
# every process left in the namespace (VMMs above all) killed on exit,
# before the namespace is deleted.
boot_dhcp() {
  local net=${BOOT_POOL%/*} i
  on_exit "ip netns pids '$NS' 2>/dev/null | xargs -r kill -9 2>/dev/null; sleep 0.2"
  in_ns vmnet-alloc --pool "$BOOT_POOL" --bridge "$BOOT_BR" --create-bridge \
    --dhcp-hostsdir "$BOOT_HOSTS" --id boot-bridge -q >/dev/null || fail "vmnet-alloc (the bridge)"
  in_ns vm-destroy -q boot-bridge >/dev/null || fail "vm-destroy boot-bridge"
  in_ns dnsmasq --keep-in-foreground --port=0 --interface="$BOOT_BR" --bind-interfaces \
    --dhcp-range="$net,static" --dhcp-hostsdir="$BOOT_HOSTS" --pid-file="$T/dnsmasq.pid" \
    --dhcp-leasefile="$T/dnsmasq.leases" --log-dhcp --log-facility="$T/dnsmasq.log" &
  on_exit "kill \$(cat '$T/dnsmasq.pid' 2>/dev/null) $! 2>/dev/null"
  BOOT_DNSMASQ=1
  for ((i = 0; i < 50; i++)); do [ -s "$T/dnsmasq.pid" ] && return 0; sleep 0.1; done
  fail "dnsmasq did not start: $(tail -3 "$T/dnsmasq.log" 2>/dev/null)"
}
