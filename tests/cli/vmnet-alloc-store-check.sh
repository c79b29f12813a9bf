#!/usr/bin/env bash
# A lease store whose pool is not the one its name (and --pool) says, or that
# lists one address twice, is refused naming the store and the conflict, and
# left as it was; no VM is made from it.
. "$(dirname "$0")/lib.sh"

mkdir -p "$S/leases"
store="$S/leases/10.30.0.0_24.json"
printf '%s\n' '{"v":1,"pool":"192.168.0.0/24","gateway":"192.168.0.1","leases":[]}' >"$store"
cp "$store" "$T/orig"
expect_rc 1 vmnet-alloc --no-tap --pool 10.30.0.0/24 -q
stderr_has "$store"
stderr_has "192.168.0.0/24"
stderr_has "10.30.0.0/24"
cmp -s "$store" "$T/orig" || fail "the mismatched store was rewritten"
[ -z "$(ls -A "$S/vms" 2>/dev/null)" ] || fail "a VM was made from a mismatched store"

rm "$store"
dup="$S/leases/10.32.0.0_24.json"
cat >"$dup" <<'J'
{"v":1,"pool":"10.32.0.0/24","gateway":"10.32.0.1","leases":[
 {"id":"vm-a","ip":"10.32.0.5","mac":"06:00:0a:20:00:05","created":"2020-01-01T00:00:00Z","boot_id":"b"},
 {"id":"vm-b","ip":"10.32.0.5","mac":"06:00:0a:20:00:05","created":"2020-01-01T00:00:00Z","boot_id":"b"}]}
J
cp "$dup" "$T/orig"
expect_rc 1 vmnet-alloc --no-tap --pool 10.32.0.0/24 -q
stderr_has "$dup"
stderr_has "10.32.0.5"
cmp -s "$dup" "$T/orig" || fail "the store with a duplicate was rewritten"
expect_rc 1 vmnet-alloc list
stderr_has "10.32.0.5"
[ -z "$(ls -A "$S/vms" 2>/dev/null)" ] || fail "a VM was made from a store with a duplicate"
pass "mismatched pool and duplicate addresses refused"
