# Scripted guests for the vm-wait-ready tests (sourced after lib.sh).
#
# A test namespace ($NS) holds a bridge with the "host" address, like the
# one vmnet-alloc makes; a second namespace ($GNS) is the guest, joined to
# the bridge by a veth pair whose bridge-side end plays the TAP. The guest's
# agent is a real HTTP server (wait-guest.py) started in $GNS on a
# schedule; its console is a file the test writes on a schedule; its VMM is
# a stand-in process (sleep) whose pid and start time go in the record.
# Everything is removed on exit.

WAIT_BR=wbr0
WAIT_TAP=wtap0
WAIT_HOST_IP=10.91.0.1
WAIT_IP=10.91.0.2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

need_cmd python3

# wait_setup: the namespaces, the bridge, the guest's link (no address yet).
wait_setup() {
  make_netns
  GNS="$NS-g"
  ip netns add "$GNS" || skip "cannot create the guest namespace"
  on_exit "ip netns delete '$GNS'"
  ip netns exec "$GNS" ip link set lo up
  # No IPv6 on the guest side: a guest that is "down" sends no frame at all.
  ip netns exec "$GNS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  in_ns ip link add "$WAIT_BR" type bridge
  in_ns ip addr add "$WAIT_HOST_IP/24" dev "$WAIT_BR"
  in_ns ip link set "$WAIT_BR" up
  in_ns ip link add "$WAIT_TAP" type veth peer name eth0 netns "$GNS"
  in_ns ip link set "$WAIT_TAP" master "$WAIT_BR" up
  ip netns exec "$GNS" ip link set eth0 up
}

# guest_addr [IP]: the guest configures its address (ARP answers from now on).
guest_addr() { ip netns exec "$GNS" ip addr add "${1:-$WAIT_IP}/24" dev eth0; }

# guest_http [ARGS...]: start the guest's agent (wait-guest.py ARGS) in the background.
guest_http() {
  ip netns exec "$GNS" python3 "$HERE/wait-guest.py" "$@" </dev/null >/dev/null 2>&1 &
  local pid=$!
  on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
}

# guest_unaddr: the guest loses its address again.
guest_unaddr() { ip netns exec "$GNS" ip addr flush dev eth0; }

# guest_stop: stop every process of the guest (its agents).
guest_stop() { ip netns pids "$GNS" | xargs -r kill 2>/dev/null || true; }

# fake_vmm: a stand-in VMM process; sets VMM_PID and VMM_START.
fake_vmm() {
  sleep 1000 </dev/null >/dev/null 2>&1 &
  VMM_PID=$!
  on_exit "kill $VMM_PID 2>/dev/null; wait $VMM_PID 2>/dev/null"
  VMM_START=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$VMM_PID/stat")
}

# make_record ID [UNITS_JSON] [AGENT_EXTRA_JSON]: a record as fc-launch leaves
# it, with a fresh stand-in VMM, in $REC (not a $(...): the VMM must belong
# to the test). Console: $CON = $S/vms/ID/console.log.
make_record() {
  local id=$1 units=${2:-'[{"name":"vm-agent.service","enabled_in":["multi-user.target.wants"]}]'}
  local extra=${3:-'{}'}
  fake_vmm
  mkdir -p "$S/vms/$id"
  : >"$S/vms/$id/vmm.log"
  python3 - "$id" "$units" "$extra" "$VMM_PID" "$VMM_START" "$S" <<'PY' >"$T/rec-$id.json"
import json, sys
id, units, extra, pid, start, state = sys.argv[1:]
agent = {"files": [], "units": json.loads(units)}
agent.update(json.loads(extra))
print(json.dumps({"v": 1, "id": id, "created": "2026-11-26T01:26:57Z",
  "net": {"ip": "10.91.0.2", "prefix": 24, "gateway": "10.91.0.1", "tap": "wtap0", "bridge": "wbr0"},
  "agent": agent,
  "vmm": {"backend": "qemu", "accel": "tcg", "pid": int(pid), "start_time": int(start),
          "console_log": f"{state}/vms/{id}/console.log", "log": f"{state}/vms/{id}/vmm.log"}}))
PY
  REC="$T/rec-$id.json"
  CON="$S/vms/$id/console.log"
}

# say FILE LINE...: the guest prints lines on its console (CR LF, like a tty).
say() {
  local f=$1
  shift
  local l
  for l in "$@"; do printf '%s\r\n' "$l" >>"$f"; done
}

# A boot up to systemd, as the console shows it.
boot_lines() {
  say "$1" "[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)" \
    "[    2.646742] Run /init as init process" \
    "initrd: switching to /dev/vda (rw), exec /sbin/init" \
    "[    4.563338] systemd[1]: systemd 252.39-1~deb12u2 running in system mode (+PAM)"
}

# report FILE SEQ LINE...: a reporter block, framed as the guest script frames it.
report() {
  local f=$1 seq=$2
  shift 2
  local lines=("begin v=1 port=8080 uptime=20.00 units=vm-agent.service" "$@")
  lines+=("end $((${#lines[@]} + 1))")
  local n=0 l
  for l in "${lines[@]}"; do
    printf 'vmu-report:%s:%s:%s:%s\r\n' "$seq" "$n" "${#l}" "$l" >>"$f"
    n=$((n + 1))
  done
}

# field FILE PYEXPR: a value of the JSON record in FILE (first line), e.g. 'r["ready"]["reason"]'.
field() { python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); print(eval(sys.argv[2]))' "$1" "$2"; }

# now: wall-clock seconds with fractions.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
