#!/usr/bin/env bash
# Two hosts (two state folders, two host ids) share one pool in a real
# three-member etcd cluster: 500 allocations at once (5 writers per host, one
# process per allocation) give 500 distinct addresses, and `list --all-hosts`
# on either host shows each of the 500 VMs once, with its host; plain `list`
# shows only the host's own.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd-lib.sh"
start_etcd_cluster
export VMUTILS_STORE="$ETCD_STORE"

writer() {  # writer HOST N OUT
  local i
  for i in $(seq 1 "$2"); do
    VMUTILS_HOST_ID="$1" VMUTILS_STATE_DIR="$T/$1" vmnet-alloc --no-tap -q --pool 10.50.0.0/22 ||
      return 1
  done >"$3"
}
pids=()
for h in host-a host-b; do
  for w in 1 2 3 4 5; do
    writer "$h" 50 "$T/out.$h.$w" 2>"$T/err.$h.$w" &
    pids+=($!)
  done
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
[ $rc -eq 0 ] || { tail -3 "$T"/err.* >&2; fail "an allocation failed"; }

VMUTILS_HOST_ID=host-a VMUTILS_STATE_DIR="$T/host-a" vmnet-alloc list --all-hosts >"$T/all-a"
VMUTILS_HOST_ID=host-b VMUTILS_STATE_DIR="$T/host-b" vmnet-alloc list --all-hosts >"$T/all-b"
VMUTILS_HOST_ID=host-a VMUTILS_STATE_DIR="$T/host-a" vmnet-alloc list >"$T/own-a"
cmp -s "$T/all-a" "$T/all-b" || fail "the two hosts see different fleets"
python3 - "$T" <<'PY'
import glob, json, sys
T = sys.argv[1]
recs = [json.loads(l) for f in glob.glob(T + "/out.*") for l in open(f)]
ips = [r["net"]["ip"] for r in recs]
assert len(recs) == 500, len(recs)
assert len(set(ips)) == 500, "duplicate addresses: %d" % (500 - len(set(ips)))
assert "10.50.0.1" not in ips
rows = [json.loads(l) for l in open(T + "/all-a")]
ids = [r["id"] for r in rows]
assert len(rows) == 500 and len(set(ids)) == 500, (len(rows), len(set(ids)))
assert sorted(ids) == sorted(r["id"] for r in recs), "list differs from what was allocated"
assert all(r.get("ip") for r in rows), "a VM listed without its lease"
by_host = {}
for r in rows: by_host[r["host"]] = by_host.get(r["host"], 0) + 1
assert by_host == {"host-a": 250, "host-b": 250}, by_host
own = [json.loads(l) for l in open(T + "/own-a")]
assert len(own) == 250 and all(r["host"] == "host-a" for r in own), len(own)
PY
pass "500 allocations from two hosts: distinct, each listed once"
