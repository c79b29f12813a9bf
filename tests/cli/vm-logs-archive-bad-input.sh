#!/usr/bin/env bash
# vm-logs-archive refuses bad input with exit 2 and one line naming it; a
# VM whose secret values cannot be read (its image is gone) is not archived
# at all (exit 1, no archive, no temporary file left), never leaking; a VM
# with nothing to redact is archived with what there is.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/evidence-lib.sh"
fake_vm vm-bi 999999 1
for args in "--max-bytes 12Q" "--max-bytes 0" "--keep -1" "--redact 1BAD" "--id Bad_Id"; do
  # shellcheck disable=SC2086
  expect_rc 2 vm-logs-archive --id vm-bi $args
  stderr_has "vm-logs-archive: error:"
done
expect_rc 2 vm-logs-archive --id vm-none
stderr_has "vm-none"
if command -v script >/dev/null; then
  script -qec "vm-logs-archive" /dev/null >"$T/tty" </dev/null && fail "no records from a terminal did not fail"
  grep -q "no records" "$T/tty" || fail "no 'no records' message: $(cat "$T/tty")"
fi

rm "$S/vms/vm-bi/rootfs.ext4"
expect_rc 1 vm-logs-archive --id vm-bi
stderr_has "refusing to archive text that may hold them"
grep -aqF "$SECRET" "$ERR" && fail "the secret was printed"
[ -z "$(ls -A "$S/archive" 2>/dev/null)" ] || fail "something was left in the archive folder: $(ls -A "$S/archive")"
[ "$(json "$OUT" 'j["error"]["reason"]')" = cannot_redact ] || fail "the record's error"

# Nothing to redact (no env_keys): archived with what there is.
set_section vm-bi agent '{"units": [{"name": "vm-agent.service"}]}'
python3 - "$S/vms/vm-bi/record.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r.pop("error", None); json.dump(r, open(sys.argv[1], "w"))
PY
expect_rc 0 vm-logs-archive --id vm-bi -v
stderr_has "not collected: rootfs:"
pass "bad input: exit 2; unreadable secrets: exit 1 and no archive; partial evidence archived"
