#!/usr/bin/env bash
# A lease store written by a newer vmutils ("v": 99) is refused and left
# byte-identical; a store of a version this one reads keeps the fields it
# does not know (pool-level and lease-level) when it is migrated in place.
. "$(dirname "$0")/lib.sh"

mkdir -p "$S/leases"
store="$S/leases/10.30.0.0_24.json"
printf '%s\n' '{"v":99,"pool":"10.30.0.0/24","gateway":"10.30.0.1","leases":[],"shards":{"n":4}}' >"$store"
cp "$store" "$T/orig"
expect_rc 1 vmnet-alloc --no-tap --pool 10.30.0.0/24 -q
stderr_has "$store"
stderr_has "newer"
cmp -s "$store" "$T/orig" || fail "the newer store was rewritten"
[ ! -e "$S/leases/10.30.0.0_24" ] || fail "a newer store was migrated"
[ -z "$(ls -A "$S/vms" 2>/dev/null)" ] || fail "a VM was made from a newer store"
expect_rc 1 vmnet-alloc list
stderr_has "newer"

rm "$store"
# Version 1 with fields this version does not know: migrated, nothing dropped.
old="$S/leases/10.31.0.0_24.json"
cat >"$old" <<'J'
{"v":1,"pool":"10.31.0.0/24","gateway":"10.31.0.1","cursor":"10.31.0.2","site":"rack-7",
 "leases":[{"id":"vm-old","ip":"10.31.0.2","mac":"06:00:0a:1f:00:02","created":"2020-01-01T00:00:00Z",
            "boot_id":"b","owner":"team-a"}]}
J
expect_rc 0 vmnet-alloc --no-tap --pool 10.31.0.0/24 --id vm-new -q
stdout_has '"ip":"10.31.0.3"'
grep -rqF '"owner":"team-a"' "$S/leases" || fail "a lease's unknown field was dropped"
grep -rqF '"site":"rack-7"' "$S/leases" || fail "the pool's unknown field was dropped"
expect_rc 0 vmnet-alloc list --pool 10.31.0.0/24
stdout_has '"id":"vm-old"'
stdout_has '"id":"vm-new"'
pass "newer stores refused, unknown fields kept"
