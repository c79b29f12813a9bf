#!/usr/bin/env bash
# In a fresh network namespace: the TAP exists with IFF_TAP|IFF_NO_PI|
# IFF_VNET_HDR, is up, and its master is the bridge (made with the gateway
# address); release removes it; a second release is fine.
. "$(dirname "$0")/lib.sh"
make_netns

in_ns vmnet-alloc --pool 10.77.0.0/24 --bridge vmubr0 --create-bridge --id vm-net1 >"$OUT" 2>"$ERR" \
  || { cat "$ERR" >&2; fail "alloc failed"; }
python3 - "$OUT" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read())
n = r["net"]
assert r["id"] == "vm-net1" and r["v"] == 1
assert n == {"pool": "10.77.0.0/24", "ip": "10.77.0.2", "prefix": 24, "gateway": "10.77.0.1",
             "mac": "06:00:0a:4d:00:02", "tap": "vmtap2", "bridge": "vmubr0"}, n
PY
flags=$(in_ns cat /sys/class/net/vmtap2/tun_flags)
# IFF_TAP 0x0002 | IFF_NO_PI 0x1000 | IFF_VNET_HDR 0x4000, persistent.
[ $((flags & 0x5002)) -eq $((0x5002)) ] || fail "tun_flags $flags lack TAP|NO_PI|VNET_HDR"
[ "$(basename "$(in_ns readlink /sys/class/net/vmtap2/master)")" = vmubr0 ] || fail "master is not vmubr0"
[[ $(in_ns ip -o link show vmtap2) =~ [\<,]UP[,\>] ]] || fail "vmtap2 is not up"
[[ $(in_ns ip -o addr show vmubr0) == *"inet 10.77.0.1/24"* ]] || fail "bridge lacks the gateway address"
[ -f "$S/vms/vm-net1/record.json" ] || fail "record not saved"

# A second VM on the existing bridge, its TAP owned by an unprivileged user.
in_ns vmnet-alloc --pool 10.77.0.0/24 --bridge vmubr0 --tap-owner nobody -q >"$OUT" || fail "second alloc failed"
in_ns test -e /sys/class/net/vmtap3 || fail "second TAP missing"
[ "$(in_ns cat /sys/class/net/vmtap3/owner)" = "$(id -u nobody)" ] || fail "--tap-owner not applied"

expect_rc 0 in_ns vmnet-alloc release vm-net1
stdout_has '"release":"released"'
in_ns test ! -e /sys/class/net/vmtap2 || fail "release left the TAP"
expect_rc 0 in_ns vmnet-alloc release vm-net1
stdout_has '"release":"already"'
in_ns vmnet-alloc list >"$OUT"
grep -q vm-net1 "$OUT" && fail "released lease still listed"
[ "$(wc -l <"$OUT")" -eq 1 ] || fail "expected one lease left"
pass "TAP, bridge and release in a namespace"
