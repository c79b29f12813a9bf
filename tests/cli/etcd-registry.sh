#!/usr/bin/env bash
# With $VMUTILS_STORE naming etcd, every tool that saves a record mirrors it
# to <prefix>/vms/<id>, not only vmnet-alloc: the fleet's copy of a cloned
# VM holds its rootfs section, two VMs cloned in one pipeline (two jobs)
# both arrive, vm-ls --all-hosts lists another host's VM from its copy,
# and vm-destroy removes the copy with the VM. A bad
# $VMUTILS_STORE is refused by any tool with exit 2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd-lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
need_cmd etcdctl
G="$T/golden.ext4"
make_golden "$G" 32M
start_etcd_cluster
export VMUTILS_STORE="$ETCD_STORE" VMUTILS_HOST_ID=host-a
mirror() {  # mirror ID: the record's copy in etcd (empty when absent)
  ETCDCTL_API=3 etcdctl --endpoints="$ETCD_EPS" get --print-value-only "/vmutils-test/vms/$1"
}
vmnet-alloc --no-tap -q --pool 10.60.0.0/24 --count 2 >"$T/alloc" || fail "vmnet-alloc"
ids=$(jq -r .id "$T/alloc")
expect_rc 0 rootfs-clone --golden "$G" <"$T/alloc"
for id in $ids; do
  m=$(mirror "$id")
  [ -n "$m" ] || fail "no copy of $id in etcd"
  [ "$(jq -r .host <<<"$m")" = host-a ] || fail "the copy of $id does not name its host: $m"
  [ "$(jq -r '.record.rootfs.path != null and .record.net.ip != null' <<<"$m")" = true ] ||
    fail "the copy of $id is not the clone's record: $m"
done
first=$(head -1 <<<"$ids")
expect_rc 0 vm-destroy --id "$first" --archive never
[ -z "$(mirror "$first")" ] || fail "vm-destroy left the copy of $first in etcd"
[ -n "$(mirror "$(tail -1 <<<"$ids")")" ] || fail "vm-destroy removed another VM's copy"
# vm-ls --all-hosts: this host's VMs checked here, another host's from its copy.
VMUTILS_HOST_ID=host-b VMUTILS_STATE_DIR="$T/host-b" vmnet-alloc --no-tap -q --pool 10.60.0.0/24 \
  --id vm-on-b >/dev/null || fail "vmnet-alloc on host-b"
expect_rc 0 vm-ls --all-hosts --json
[ "$(jq -r 'select(.id=="vm-on-b") | .host + " " + .state + " " + (.vmm_alive|tostring)' "$OUT")" = \
  "host-b created null" ] || fail "vm-ls --all-hosts does not show host-b's VM: $(cat "$OUT")"
[ "$(jq -r "select(.id==\"$(tail -1 <<<"$ids")\") | .host" "$OUT")" = host-a ] ||
  fail "vm-ls --all-hosts does not name this host: $(cat "$OUT")"
expect_rc 0 vm-ls --json
grep -q vm-on-b "$OUT" && fail "plain vm-ls lists another host's VM"
VMUTILS_STORE= expect_rc 2 vm-ls --all-hosts
stderr_has "--all-hosts needs a store shared by hosts"
VMUTILS_STORE=zookeeper://x expect_rc 2 vm-ls
stderr_has "use 'host' (the state folder's leases) or etcd://"
pass "every saved record mirrored to etcd (two jobs); vm-ls --all-hosts; removed by vm-destroy; a bad store refused"
