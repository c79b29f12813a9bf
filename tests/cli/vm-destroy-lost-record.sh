#!/usr/bin/env bash
# What a power cut can leave of a VM that only vmnet-alloc saw (its record is
# not synced: docs/architecture.md, "What must survive what"): an empty
# record. vm-ls lists it stale (bad_record); vm-destroy removes its folder;
# a folder that holds more than the empty record is refused, kept, and named.
. "$(dirname "$0")/lib.sh"
mkdir -p "$S/vms/vm-lost" "$S/vms/vm-more"
: >"$S/vms/vm-lost/record.json"
: >"$S/vms/vm-more/record.json"
echo boot >"$S/vms/vm-more/console.log"
expect_rc 0 vm-ls --json
[ "$(jq -r 'select(.id=="vm-lost") | .state + " " + .reason' "$OUT")" = "stale bad_record" ] ||
  fail "vm-ls does not list the empty record as stale: $(cat "$OUT")"
expect_rc 0 vm-destroy --id vm-lost
stderr_has "its record was empty (lost in a power cut): folder removed"
[ -e "$S/vms/vm-lost" ] && fail "the lost record's folder is left"
expect_rc 1 vm-destroy --id vm-more
stderr_has "holds 'console.log' too"
[ -f "$S/vms/vm-more/console.log" ] || fail "a folder with a console log was removed"
pass "an empty record: listed stale, removed by vm-destroy, refused when its folder holds more"
