#!/usr/bin/env bash
# A 400 on the drive: exit 1, the message names the request and quotes
# fault_message, the VMM is stopped, its logs are kept, the lock is free.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fc-launch-common.sh"
new_record vm-err >"$T/rec"
export FAKE_FC_FAIL=/drives FAKE_FC_REQUEST_LOG="$T/requests.jsonl"
expect_rc 1 "${FCL[@]}" <"$T/rec"
stderr_has "PUT /drives/rootfs"
stderr_has "HTTP 400"
stderr_has '"fake-firecracker: injected failure for /drives/rootfs (FAKE_FC_FAIL=/drives)"'
stderr_has "the VMM was stopped"
[ "$(json "$OUT" 'j["error"]["reason"]')" = vmm_api_error ] || fail "error.reason"
[ "$(json "$OUT" 'j["error"]["code"]')" = 1 ] || fail "error.code"
[ "$(json "$OUT" '"vmm" in j')" = False ] || fail "a failed launch wrote a vmm section"
# Stopped: nothing serves the socket (the fake removes it on SIGTERM), no
# process runs with this test's socket on its command line.
[ ! -e "$T/run/vm-err/api.sock" ] || fail "API socket still there"
ps -eo args | grep -F -- "$T/run/vm-err/api.sock" | grep -v grep && fail "VMM still runs"
# No request after the failed one.
[ "$(tail -1 "$T/requests.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["path"])')" = /drives/rootfs ] \
  || fail "requests went on after the error"
[ -e "$S/vms/vm-err/console.log" ] || fail "console.log not kept"
grep -q 'injected failure' "$S/vms/vm-err/vmm.log" || fail "vmm.log not kept"
flock -n "$T/vm-err.ext4" true || fail "rootfs lock still held"
pass "API error reported and cleaned up"
