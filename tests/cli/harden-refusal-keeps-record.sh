# A record arriving for a VM whose saved record is further along is refused
# (rootfs-clone: its rootfs.ext4 exists), and the refusal leaves the saved
# record as it was: the rootfs section is not lost.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/harden-common.sh"

G="$T/golden.ext4"
small_golden "$G"
cloned vm-k1
before=$(sha256sum <"$S/vms/vm-k1/record.json")
jq -e '.rootfs.path' "$S/vms/vm-k1/record.json" >/dev/null || fail "setup: no rootfs section"

rec vm-k1 >"$T/stale"
expect_rc 2 rootfs-clone --golden "$G" <"$T/stale"
stderr_has "already exists"
jq -e '.error.reason == "rootfs_exists"' "$OUT" >/dev/null || fail "refusal not in the record out"
[ "$(sha256sum <"$S/vms/vm-k1/record.json")" = "$before" ] || {
  cat "$S/vms/vm-k1/record.json" >&2
  fail "the refusal changed the saved record"
}
stderr_has "the saved record was kept as it was: it has rootfs"
# The VM goes on from its saved record.
expect_rc 0 agent-inject --env K=v --id vm-k1
jq -e '.rootfs.path and .agent' "$S/vms/vm-k1/record.json" >/dev/null || fail "--id after refusal"
pass "a refusal never makes the saved record less"

# A record that is not behind the saved one still gets its error saved.
rec vm-k2 >"$T/new"
expect_rc 2 rootfs-clone --golden "$T/missing.ext4" <"$T/new"
[ ! -e "$S/vms/vm-k2/record.json" ] || jq -e '.error' "$S/vms/vm-k2/record.json" >/dev/null ||
  fail "a failed record was saved without its error"
pass "failures of records not behind are still saved"
