#!/usr/bin/env bash
# An allocator killed (kill -9) between its etcd transaction and its TAP
# leaves a lease naming this host, this boot and the VM; `gc` on another host
# leaves it alone, `gc` on this host frees it. `gc --host` frees the leases
# of a host that is gone (and refuses this host's own name).
. "$(dirname "$0")/lib.sh"
make_netns
need_cmd strace
# The cluster, like every tool here, runs in the namespace (its 127.0.0.1).
ETCD_IN=(ip netns exec "$NS")
. "$(dirname "$0")/etcd-lib.sh"
start_etcd_cluster
export VMUTILS_STORE="$ETCD_STORE" VMUTILS_HOST_ID=host-a
B=(in_ns env VMUTILS_HOST_ID=host-b VMUTILS_STATE_DIR="$T/host-b")

in_ns ip link add vmubr0 type bridge
# SIGKILL when it opens /dev/net/tun: the lease is committed, no TAP exists.
rc=0
in_ns strace -f -qq -o /dev/null -P /dev/net/tun -e trace=openat -e inject=openat:signal=SIGKILL \
  vmnet-alloc --pool 10.53.0.0/24 --bridge vmubr0 --id vm-killed -q >"$OUT" 2>"$ERR" || rc=$?
[ $rc -eq 137 ] || { cat "$ERR" >&2; fail "the allocator was not killed (exit $rc)"; }
in_ns test ! -e /sys/class/net/vmtap2 || fail "the TAP exists: killed too late"
expect_rc 0 in_ns vmnet-alloc list
stdout_has '"id":"vm-killed"'
stdout_has '"host":"host-a"'
in_ns etcdctl --endpoints "$ETCD_EPS" get /vmutils-test/pools/10.53.0.0_24/leases/010.053.000.002 \
  --print-value-only | grep -q "\"boot_id\":\"$(cat /proc/sys/kernel/random/boot_id)\"" ||
  fail "the lease does not name this boot"

expect_rc 0 "${B[@]}" vmnet-alloc gc --grace 0
[ ! -s "$OUT" ] || fail "another host's gc took this host's lease: $(cat "$OUT")"
expect_rc 0 in_ns vmnet-alloc gc --grace 0
stdout_has '"id":"vm-killed"'
stdout_has '"reason":"no_state"'
stdout_has '"freed":true'
expect_rc 0 in_ns vmnet-alloc list
[ ! -s "$OUT" ] || fail "the lease is still there"
[ ! -e "$S/vms/vm-killed" ] || fail "gc left the killed allocation's empty state folder"

# A host that is gone: its leases are freed by an operator's decision.
expect_rc 0 "${B[@]}" vmnet-alloc --no-tap --pool 10.53.0.0/24 --id vm-on-b -q
expect_rc 0 in_ns vmnet-alloc gc --grace 0
[ ! -s "$OUT" ] || fail "plain gc took host-b's lease"
expect_rc 2 in_ns vmnet-alloc gc --host host-a
stderr_has "is this host"
expect_rc 0 in_ns vmnet-alloc gc --host host-b
stdout_has '"id":"vm-on-b"'
stdout_has '"reason":"host_gone"'
expect_rc 0 in_ns vmnet-alloc list --all-hosts
grep -q vm-on-b "$OUT" && fail "the gone host's VM is still listed"
pass "gc frees this host's orphaned lease; --host frees a gone host's"
