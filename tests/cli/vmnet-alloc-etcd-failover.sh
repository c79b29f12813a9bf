#!/usr/bin/env bash
# A member of the etcd cluster killed while allocations run (the leader, and
# the first endpoint of --store, so both election and failover happen): every
# allocation still succeeds, with distinct addresses.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd-lib.sh"
start_etcd_cluster
leader=$(etcd_leader) || fail "no leader"
eps="127.0.0.1:${ETCD_CP[leader]}"
for n in 1 2 3; do [ "$n" = "$leader" ] || eps="$eps,127.0.0.1:${ETCD_CP[n]}"; done
export VMUTILS_STORE="etcd://$eps/vmutils-test" VMUTILS_HOST_ID=host-a

writer() {
  local i
  for i in $(seq 1 40); do vmnet-alloc --no-tap -q --pool 10.51.0.0/24 || return 1; done >"$1"
}
pids=()
for w in 1 2 3; do writer "$T/out.$w" 2>"$T/err.$w" & pids+=($!); done
# Kill once a third of them are done.
for _ in $(seq 1 300); do
  [ "$(cat "$T"/out.* 2>/dev/null | wc -l)" -ge 40 ] && break
  sleep 0.1
done
etcd_kill "$leader"
echo "killed member $leader (leader, first endpoint) after $(cat "$T"/out.* | wc -l) allocations"
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
[ $rc -eq 0 ] || { tail -3 "$T"/err.* >&2; fail "an allocation failed after a member was killed"; }
cat "$T"/out.* >"$T/all"
[ "$(wc -l <"$T/all")" -eq 120 ] || fail "expected 120 records"
python3 -c 'import json,sys; ips=[json.loads(l)["net"]["ip"] for l in open(sys.argv[1])]; assert len(set(ips)) == len(ips), "duplicates"' "$T/all"
expect_rc 0 vmnet-alloc list
[ "$(wc -l <"$OUT")" -eq 120 ] || fail "list shows $(wc -l <"$OUT") leases, not 120"
pass "allocation goes on when a member dies"
