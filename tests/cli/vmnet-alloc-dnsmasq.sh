#!/usr/bin/env bash
# dnsmasq started with --dhcp-hostsdir serves the entry vmnet-alloc writes,
# picked up without a signal: a DHCP client with the leased MAC, in a
# second namespace wired to the bridge, is handed the leased address.
. "$(dirname "$0")/lib.sh"
need_cmd dnsmasq
command -v busybox >/dev/null || skip "needs busybox (udhcpc) as a DHCP client"
make_netns
# dnsmasq drops to an unprivileged user: it must be able to read the folder.
chmod 755 "$T"
hosts="$T/dhcp-hosts"
mkdir -p "$hosts"

# The bridge first, then dnsmasq, then the allocation (dnsmasq must notice
# the new file by itself).
in_ns vmnet-alloc --pool 10.81.0.0/24 --bridge vmubr0 --create-bridge -q --id vm-seed >/dev/null
in_ns dnsmasq --keep-in-foreground --port=0 --interface=vmubr0 --bind-interfaces \
  --dhcp-range=10.81.0.0,static --dhcp-hostsdir="$hosts" --pid-file="$T/dnsmasq.pid" \
  --dhcp-leasefile="$T/dnsmasq.leases" --log-dhcp --log-facility="$T/dnsmasq.log" &
# 'ip netns exec' may fork, so $! need not be dnsmasq: stop it by its pid file.
on_exit 'kill "$(cat "$T/dnsmasq.pid" 2>/dev/null)" 2>/dev/null'
for _ in $(seq 50); do [ -s "$T/dnsmasq.pid" ] && break; sleep 0.1; done
[ -s "$T/dnsmasq.pid" ] || fail "dnsmasq did not start: $(cat "$T/dnsmasq.log" 2>/dev/null)"

in_ns vmnet-alloc --pool 10.81.0.0/24 --bridge vmubr0 --dhcp-hostsdir "$hosts" --id vm-dhcp >"$OUT"
ip=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["net"]["ip"])' "$OUT")
mac=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["net"]["mac"])' "$OUT")
[ "$(cat "$hosts/vm-dhcp")" = "$mac,$ip,vm-dhcp" ] || fail "hosts file: $(cat "$hosts/vm-dhcp")"

# The "guest": a veth with the leased MAC in a client namespace.
CNS="$NS-c"
ip netns add "$CNS"
on_exit "ip netns delete '$CNS'"
in_ns ip link add vmuv0 type veth peer name vmuv1
in_ns ip link set vmuv1 netns "$CNS"
in_ns ip link set vmuv0 master vmubr0 up
ip netns exec "$CNS" ip link set vmuv1 address "$mac" up
got=$(ip netns exec "$CNS" timeout 20 busybox udhcpc -i vmuv1 -n -q -f -t 5 -T 1 -s /bin/true 2>&1 || true)
[[ $got == *"lease of $ip obtained"* ]] || { echo "$got" >&2; cat "$T/dnsmasq.log" >&2; fail "no lease of $ip"; }

# Release removes the entry.
in_ns vmnet-alloc release vm-dhcp -q >/dev/null
[ ! -e "$hosts/vm-dhcp" ] || fail "release left the DHCP entry"
pass "dnsmasq served $ip to $mac"
