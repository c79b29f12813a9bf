#!/usr/bin/env bash
# A record that arrives with `error` passes through untouched (and does not
# change the exit code); four records from stdin are cloned concurrently,
# each with its own machine-id; other sections are kept.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
G="$T/golden.ext4"
make_golden "$G" 32M

failed='{"v":1,"id":"vm-p0","created":"2026-11-26T00:00:00Z","error":{"tool":"vmnet-alloc","code":5,"reason":"pool_exhausted","message":"no free address"}}'
{
  echo "$failed"
  for i in 1 2 3 4; do
    printf '{"v":1,"id":"vm-p%s","created":"2026-11-26T00:00:00Z","net":{"ip":"10.0.0.%s"},"x-custom":[1,2]}\n' $i $i
  done
} >"$T/in"
expect_rc 0 rootfs-clone --golden "$G" <"$T/in"
[ "$(wc -l <"$OUT")" = 5 ] || fail "expected 5 records out"
grep -F '"id":"vm-p0"' "$OUT" | jq -S . >"$T/p0.out"
echo "$failed" | jq -S . >"$T/p0.in"
cmp -s "$T/p0.in" "$T/p0.out" || fail "failed record changed: $(cat "$T/p0.out")"
[ ! -e "$S/vms/vm-p0" ] || fail "failed record was processed"

ids=""
for i in 1 2 3 4; do
  line=$(grep -F "\"id\":\"vm-p$i\"" "$OUT")
  echo "$line" | jq -e ".net.ip == \"10.0.0.$i\" and .[\"x-custom\"] == [1,2] and .rootfs.method == \"copy\"" \
    >/dev/null || fail "vm-p$i: $line"
  C="$S/vms/vm-p$i/rootfs.ext4"
  id=$(dbg "$C" 'cat /etc/machine-id')
  [ "$id" = "$(derived_id vm-p$i)" ] || fail "vm-p$i machine-id"
  ids="$ids $id"
  fsck_clean "$C"
done
[ "$(echo $ids | tr ' ' '\n' | sort -u | wc -l)" = 4 ] || fail "machine-ids not distinct"

stderr_has "vm-p4: copied"
pass "failed record passed through; 4 records cloned"
