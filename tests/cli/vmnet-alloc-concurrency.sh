#!/usr/bin/env bash
# 64 vmnet-alloc processes at once on one pool: 64 distinct addresses, and
# the store afterwards holds exactly those 64 leases.
. "$(dirname "$0")/lib.sh"

pids=()
for i in $(seq 1 64); do
  vmnet-alloc --no-tap --pool 10.64.0.0/24 -q >"$T/out.$i" 2>"$T/err.$i" &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
[ $rc -eq 0 ] || { cat "$T"/err.* >&2; fail "an allocator failed"; }
cat "$T"/out.* >"$T/all"
vmnet-alloc list --pool 10.64.0.0/24 >"$T/list"
python3 - "$T/all" "$T/list" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ips = [r["net"]["ip"] for r in recs]
ids = [r["id"] for r in recs]
assert len(recs) == 64, len(recs)
assert len(set(ips)) == 64, "duplicate addresses"
assert len(set(ids)) == 64, "duplicate ids"
listed = [json.loads(l) for l in open(sys.argv[2])]
assert sorted(l["ip"] for l in listed) == sorted(ips), "store differs from output"
assert "10.64.0.1" not in ips and "10.64.0.0" not in ips and "10.64.0.255" not in ips
PY
pass "64 concurrent allocations, all distinct"
