# Shared setup of the tests that boot the guest kit (sourced after lib.sh):
# root, QEMU and dnsmasq; the kit ($VMUTILS_GUEST_KIT, else the build tree's,
# built if missing and possible); a network namespace with the bridge and
# the dnsmasq of DESIGN.md; and boot_vm, the pipeline up to fc-launch.
# Everything (VMMs, dnsmasq, namespace) is removed on exit.
need_root
need_cmd qemu-system-x86_64
need_cmd dnsmasq
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
for t in vmnet-alloc rootfs-clone agent-inject fc-launch; do
  command -v "$t" >/dev/null || fail "$t is not built"
done

BOOT_POOL=${BOOT_POOL:-10.87.0.0/24}
BOOT_BR=${BOOT_BR:-vmubrb}
BOOT_HOSTS="$T/dhcp-hosts"
BOOT_DNSMASQ=0

make_netns
chmod 755 "$T"  # dnsmasq drops privileges and must read the hosts folder
mkdir -p "$BOOT_HOSTS"

# boot_vm ID [AGENT-INJECT ARGS...]: lease (the bridge and dnsmasq come
# with the first), clone the golden, inject, launch. Sets BOOT_REC (the
# record after fc-launch), BOOT_PID, BOOT_T0 (when the VMM was started).
boot_vm() {
  local id=$1
  shift
  in_ns vmnet-alloc --pool "$BOOT_POOL" --bridge "$BOOT_BR" --create-bridge \
    --dhcp-hostsdir "$BOOT_HOSTS" --id "$id" -q >"$T/$id.1" || fail "vmnet-alloc $id"
  if [ "$BOOT_DNSMASQ" = 0 ]; then
    local net=${BOOT_POOL%/*}
    in_ns dnsmasq --keep-in-foreground --port=0 --interface="$BOOT_BR" --bind-interfaces \
      --dhcp-range="$net,static" --dhcp-hostsdir="$BOOT_HOSTS" --pid-file="$T/dnsmasq.pid" \
      --dhcp-leasefile="$T/dnsmasq.leases" --log-dhcp --log-facility="$T/dnsmasq.log" &
    on_exit "kill \$(cat '$T/dnsmasq.pid' 2>/dev/null) $! 2>/dev/null"
    BOOT_DNSMASQ=1
  fi
  rootfs-clone --golden "$KIT/rootfs.ext4" -q <"$T/$id.1" >"$T/$id.2" || fail "rootfs-clone $id"
  agent-inject -q "$@" <"$T/$id.2" >"$T/$id.3" || fail "agent-inject $id"
  in_ns fc-launch --vmm qemu --kernel "$KIT/vmlinux" --initrd "$KIT/initrd.img" -q \
    <"$T/$id.3" >"$T/$id.4" || { cat "$S/vms/$id/vmm.log" >&2 || true; fail "fc-launch $id"; }
  BOOT_T0=$(date +%s.%N)
  BOOT_REC="$T/$id.4"
  BOOT_PID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vmm"]["pid"])' "$BOOT_REC")
  on_exit "kill -9 $BOOT_PID 2>/dev/null"
}

# boot_report ID: what a failing boot test shows.
boot_report() {
  echo "--- console (tail)" >&2
  sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$S/vms/$1/console.log" 2>/dev/null | tail -30 >&2 || true
  echo "--- vmm.log" >&2
  tail -5 "$S/vms/$1/vmm.log" >&2 || true
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
