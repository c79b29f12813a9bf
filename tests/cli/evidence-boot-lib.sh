# Real boots for the vm-destroy / vm-logs-archive / vm-ls tests (sourced
# after lib.sh): a network namespace with a bridge and the DHCP server of
# DESIGN.md, and VMs made by the real pipeline (vmnet-alloc | rootfs-clone |
# agent-inject | fc-launch --vmm qemu) from the guest kit. Everything is
# removed on exit (the namespace takes TAPs and bridge; VMMs are killed).
need_root
need_cmd qemu-system-x86_64
need_cmd dnsmasq
need_cmd curl
need_cmd python3
src=${VMU_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KIT=${VMUTILS_GUEST_KIT:-$src/build/guest-kit}
for f in vmlinux initrd.img rootfs.ext4 agent/vm-agent agent/vm-agent.service; do
  [ -s "$KIT/$f" ] || skip "no guest kit at $KIT (set VMUTILS_GUEST_KIT, or run scripts/build-guest-kit)"
done

# json FILE EXPR: a Python expression over the JSON in FILE (as j).
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# boot_net POOL BRIDGE: the namespace; the bridge comes with the first
# allocation, and dnsmasq (serving exactly the leased addresses) with it.
boot_net() {
  POOL=$1 BRIDGE=$2
  make_netns
  chmod 755 "$T"  # dnsmasq drops privileges and reads the hosts folder
  HOSTS="$T/dhcp-hosts"
  mkdir -p "$HOSTS"
}

# alloc_vm ID: the lease, TAP and DHCP entry; the record in $T/ID.1.
alloc_vm() {
  in_ns vmnet-alloc --pool "$POOL" --bridge "$BRIDGE" --create-bridge --dhcp-hostsdir "$HOSTS" \
    --id "$1" -q >"$T/$1.1" || fail "vmnet-alloc $1 failed"
  [ -e "$T/dnsmasq.pid" ] && return 0
  in_ns dnsmasq --keep-in-foreground --port=0 --interface="$BRIDGE" --bind-interfaces \
    --dhcp-range="${POOL%/*},static" --dhcp-hostsdir="$HOSTS" --pid-file="$T/dnsmasq.pid" \
    --dhcp-leasefile="$T/dnsmasq.leases" --log-dhcp --log-facility="$T/dnsmasq.log" &
  # `ip netns exec` may fork: $! is not dnsmasq. Stop it by its pid file.
  on_exit "kill \$(cat '$T/dnsmasq.pid' 2>/dev/null) $! 2>/dev/null"
  local i
  for ((i = 0; i < 50; i++)); do [ -s "$T/dnsmasq.pid" ] && break; sleep 0.1; done
}

# launch_vm ID AGENT-INJECT-ARGS...: clone, inject, boot; the record in
# $T/ID.rec, the VMM killed on exit if still there.
launch_vm() {
  local id=$1
  shift
  rootfs-clone --golden "$KIT/rootfs.ext4" -q <"$T/$id.1" >"$T/$id.2" || fail "rootfs-clone $id failed"
  agent-inject -q "$@" <"$T/$id.2" >"$T/$id.3" || fail "agent-inject $id failed"
  in_ns fc-launch --vmm qemu --kernel "$KIT/vmlinux" --initrd "$KIT/initrd.img" -q <"$T/$id.3" >"$T/$id.rec" \
    || { cat "$S/vms/$id/vmm.log" >&2 || true; fail "fc-launch $id failed"; }
  local pid
  pid=$(json "$T/$id.rec" 'j["vmm"]["pid"]')
  on_exit "kill -9 $pid 2>/dev/null"
}

# wait_console ID REGEX SECONDS: until the console log matches (bounded).
wait_console() {
  local id=$1 re=$2 secs=$3 log="$S/vms/$1/console.log" pid i
  pid=$(json "$T/$id.rec" 'j["vmm"]["pid"]')
  for ((i = 0; i < secs * 2; i++)); do
    grep -aqE -- "$re" "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "--- console of $id (tail)" >&2
  tail -n 40 "$log" >&2 || true
  fail "$id: the console never showed /$re/ within ${secs}s"
}

# wait_http ID SECONDS: until GET /health answers 200 from inside the namespace.
wait_http() {
  local id=$1 secs=$2 ip code=000 i
  ip=$(json "$T/$id.rec" 'j["net"]["ip"]')
  for ((i = 0; i < secs; i++)); do
    code=$(in_ns curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$ip:8080/health" || true)
    [ "$code" = 200 ] && return 0
    sleep 1
  done
  tail -n 40 "$S/vms/$id/console.log" >&2 || true
  fail "$id: GET http://$ip:8080/health gave $code after ${secs}s"
}

# set_verdict ID OK REASON [EVIDENCE]: the `ready` (and, when not ok, `error`)
# section vm-wait-ready writes, saved into the state folder — a stand-in
# until vm-wait-ready is on this branch.
set_verdict() {
  python3 - "$S/vms/$1/record.json" "$2" "$3" "${4:-}" <<'PY'
import json, os, sys
path, ok, reason, ev = sys.argv[1], sys.argv[2] == "true", sys.argv[3], sys.argv[4]
r = json.load(open(path))
r["ready"] = {"ok": ok, "reason": reason, "evidence": [ev] if ev else []}
if not ok:
    r["error"] = {"tool": "vm-wait-ready", "code": 4, "reason": reason, "message": ev or reason}
tmp = path + ".tmp"
open(tmp, "w").write(json.dumps(r))
os.rename(tmp, path)
PY
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
