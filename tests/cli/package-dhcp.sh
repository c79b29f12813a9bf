#!/usr/bin/env bash
# vmutils-dhcp (the ExecStart of vmutils-dhcp@.service) runs dnsmasq on a
# bridge's subnet, from the hosts folder vmnet-alloc writes: a DHCP client
# with a leased MAC, in a second namespace on the bridge, gets its address;
# dnsmasq has dropped root; bad usage and a missing bridge say so.
. "$(dirname "$0")/lib.sh"
: "${VMU_SRC:?VMU_SRC must point at the source tree}"
helper="$VMU_SRC/packaging/vmutils-dhcp"
need_cmd dnsmasq
command -v busybox >/dev/null || skip "needs busybox (udhcpc) as a DHCP client"
make_netns

expect_rc 2 "$helper"
stderr_has "usage: vmutils-dhcp BRIDGE"
expect_rc 2 "$helper" "a/b"
stderr_has "'a/b' is not an interface name"
expect_rc 1 in_ns "$helper" vmubr9
stderr_has "bridge 'vmubr9'"

# dnsmasq reads the hosts folder after dropping root, as in /run/vmutils-dhcp.
chmod 755 "$T"
hosts="$T/dhcp/hosts"
run="$T/dhcp"
in_ns vmnet-alloc --pool 10.82.0.0/24 --bridge vmubr1 --create-bridge -q --id vm-seed >/dev/null
in_ns env VMUTILS_DHCP_HOSTSDIR="$hosts" VMUTILS_DHCP_RUNDIR="$run" VMUTILS_DHCP_OPTS="--log-dhcp" \
  "$helper" vmubr1 >"$T/dnsmasq.log" 2>&1 &
on_exit 'kill "$(cat "$T/dhcp/vmubr1.pid" 2>/dev/null)" 2>/dev/null'
for _ in $(seq 50); do [ -s "$run/vmubr1.pid" ] && break; sleep 0.1; done
[ -s "$run/vmubr1.pid" ] || fail "dnsmasq did not start: $(cat "$T/dnsmasq.log")"
pid=$(cat "$run/vmubr1.pid")
user=$(ps -o user= -p "$pid")
[ "$user" != root ] || fail "dnsmasq still runs as root"

in_ns vmnet-alloc --pool 10.82.0.0/24 --bridge vmubr1 --dhcp-hostsdir "$hosts" --id vm-dhcp >"$OUT"
ip=$(jq -r .net.ip "$OUT")
mac=$(jq -r .net.mac "$OUT")

CNS="$NS-c"
ip netns add "$CNS"
on_exit "ip netns delete '$CNS'"
in_ns ip link add vmuv0 type veth peer name vmuv1
in_ns ip link set vmuv1 netns "$CNS"
in_ns ip link set vmuv0 master vmubr1 up
ip netns exec "$CNS" ip link set vmuv1 address "$mac" up
got=$(ip netns exec "$CNS" timeout 20 busybox udhcpc -i vmuv1 -n -q -f -t 5 -T 1 -s /bin/true 2>&1 || true)
[[ $got == *"lease of $ip obtained from 10.82.0.1"* ]] || {
  echo "$got" >&2
  cat "$T/dnsmasq.log" >&2
  fail "no lease of $ip"
}
in_ns vmnet-alloc release vm-dhcp vm-seed -q >/dev/null
pass "vmutils-dhcp served $ip to $mac on vmubr1 (dnsmasq as $user)"
