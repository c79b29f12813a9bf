#!/usr/bin/env bash
# vm-wait-ready(1) documents every pattern of the catalog (as the binary
# lists it) and every grace period (as the binary knows them).
. "$(dirname "$0")/lib.sh"
src="$VMU_SRC/man/vm-wait-ready.1.scd"
ids=$(vm-wait-ready --list-patterns | python3 -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))')
[ -n "$ids" ] || fail "--list-patterns printed nothing"
n=0
for id in $ids; do
  grep -qF -- "*$id*" "$src" || fail "$src does not document the catalog entry $id"
  n=$((n + 1))
done
vm-wait-ready --grace nope=1s --id vm-x 2>"$T/err" && fail "a bad --grace was accepted"
graces=$(sed -n 's/.*NAME one of //p' "$T/err" | tr -d ',')
[ -n "$graces" ] || { cat "$T/err" >&2; fail "no grace names in the error"; }
for g in $graces; do
  grep -qE "^\*$g\* \(" "$src" || fail "$src does not document the grace period $g"
done
# User patterns are listed too.
vm-wait-ready --list-patterns --fail-on 'BOOM' --ready-on 'READY' >"$T/l"
grep -q '"id":"fail_on".*"regex":"BOOM"' "$T/l" || fail "--fail-on not listed"
grep -q '"id":"ready_on".*"regex":"READY"' "$T/l" || fail "--ready-on not listed"
pass "$n catalog entries and the grace periods are documented"
