#!/usr/bin/env bash
# Two of three etcd members stopped: an allocation fails with exit 1 and one
# clear error naming the quorum and every endpoint, and leaves nothing behind
# on this host (no record, no state folder, no DHCP entry); once they are
# started again allocation resumes, and gc leaves no lease without a VM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd-lib.sh"
start_etcd_cluster
export VMUTILS_STORE="$ETCD_STORE" VMUTILS_HOST_ID=host-a
expect_rc 0 vmnet-alloc --no-tap --pool 10.52.0.0/24 --id vm-before -q

etcd_stop 1
etcd_stop 2
expect_rc 1 vmnet-alloc --no-tap --pool 10.52.0.0/24 --id vm-during --dhcp-hostsdir "$T/dhcp" -q
stderr_has "quorum"
for n in 1 2 3; do stderr_has "127.0.0.1:${ETCD_CP[n]}"; done
[ "$(wc -l <"$ERR")" -eq 1 ] || { cat "$ERR" >&2; fail "expected one line on stderr"; }
echo "the error: $(cat "$ERR")"
[ ! -s "$OUT" ] || fail "a record was printed"
[ ! -e "$S/vms/vm-during" ] || fail "a state folder was left"
[ -z "$(ls -A "$T/dhcp" 2>/dev/null)" ] || fail "a DHCP entry was left"
expect_rc 1 vmnet-alloc list
stderr_has "quorum"

etcd_start 1
etcd_start 2
etcd_healthy
expect_rc 0 vmnet-alloc --no-tap --pool 10.52.0.0/24 --id vm-after -q
stdout_has '"id":"vm-after"'
# A claim sent while there was no quorum may still have been committed: its
# lease names this host and no VM exists, so gc frees it.
expect_rc 0 vmnet-alloc gc --grace 0
expect_rc 0 vmnet-alloc list
python3 - "$OUT" <<'PY'
import json, sys
ids = sorted(json.loads(l)["id"] for l in open(sys.argv[1]))
assert ids == ["vm-after", "vm-before"], ids
PY
pass "no quorum: a clear error, nothing half-written; allocation resumes"
