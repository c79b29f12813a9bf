#!/usr/bin/env bash
# Upgrading loses no lease: a version 1 store (one JSON file per pool) with
# 300 leases is read by list as it is, then migrated in place by the first of
# 16 allocators started at once; every old lease is kept, the new ones are
# distinct from them and from each other, and release still finds old VMs.
. "$(dirname "$0")/lib.sh"

mkdir -p "$S/leases"
python3 - "$S" <<'PY'
import json, os, sys
S = sys.argv[1]
leases = []
for i in range(300):
    ip = "10.40.%d.%d" % ((i + 2) // 256, (i + 2) % 256)
    vid = "vm-old%03d" % i
    a, b, c, d = map(int, ip.split("."))
    leases.append({"id": vid, "ip": ip, "mac": "06:00:%02x:%02x:%02x:%02x" % (a, b, c, d),
                   "created": "2020-01-01T00:00:00Z", "boot_id": "b"})
    os.makedirs(f"{S}/vms/{vid}", exist_ok=True)
    rec = {"v": 1, "id": vid, "created": "2020-01-01T00:00:00Z",
           "net": {"pool": "10.40.0.0/16", "ip": ip, "prefix": 16, "gateway": "10.40.0.1",
                   "mac": leases[-1]["mac"]}}
    open(f"{S}/vms/{vid}/record.json", "w").write(json.dumps(rec) + "\n")
store = {"v": 1, "pool": "10.40.0.0/16", "gateway": "10.40.0.1", "cursor": "10.40.1.45",
         "leases": leases}
open(f"{S}/leases/10.40.0.0_16.json", "w").write(json.dumps(store) + "\n")
PY
: >"$S/leases/10.40.0.0_16.lock"

expect_rc 0 vmnet-alloc list
[ "$(wc -l <"$OUT")" -eq 300 ] || fail "list of the old store: $(wc -l <"$OUT") leases"
[ -f "$S/leases/10.40.0.0_16.json" ] || fail "list changed the old store"

pids=()
for i in $(seq 1 16); do
  vmnet-alloc --no-tap --pool 10.40.0.0/16 -q >"$T/new.$i" 2>"$T/err.$i" &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
[ $rc -eq 0 ] || { cat "$T"/err.* >&2; fail "an allocator failed on the old store"; }
[ ! -e "$S/leases/10.40.0.0_16.json" ] || fail "the old store was not migrated"
[ -d "$S/leases/10.40.0.0_16" ] || fail "no migrated store"

expect_rc 0 vmnet-alloc list
python3 - "$OUT" "$T" <<'PY'
import glob, json, sys
listed = [json.loads(l) for l in open(sys.argv[1])]
new = [json.loads(l) for f in glob.glob(sys.argv[2] + "/new.*") for l in open(f)]
ids = [r["id"] for r in listed]
ips = [r["ip"] for r in listed]
assert len(listed) == 316, len(listed)
assert len(set(ids)) == 316 and len(set(ips)) == 316, "duplicates"
assert all("vm-old%03d" % i in ids for i in range(300)), "an old lease was lost"
assert all(r["net"]["ip"] in ips for r in new) and len(new) == 16
# Round-robin goes on after the old store's cursor.
assert min(r["net"]["ip"] for r in new).startswith("10.40.1."), sorted(r["net"]["ip"] for r in new)
PY
expect_rc 0 vmnet-alloc release vm-old007
stdout_has '"release":"released"'
expect_rc 0 vmnet-alloc list
grep -q '"vm-old007"' "$OUT" && fail "release did not free the migrated lease"
pass "a version 1 store migrated in place, no lease lost"
