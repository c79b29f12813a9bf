#!/usr/bin/env bash
# A line that is not JSON among records: reported with its line number, in
# words (not the JSON library's internals), skipped; the records around it
# go through, in every pipeline tool and in fc-launch --dry-run; exit 2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ergo-common.sh"
need_cmd jq
make_golden "$T/g.ext4" 16M
: >"$T/vmlinux"
new_vm vm-l1
new_vm vm-l2
rootfs-clone -q --golden "$T/g.ext4" --id vm-l1 --id vm-l2 >/dev/null
{ saved vm-l1 | jq -c .; echo 'not json {'; saved vm-l2 | jq -c .; } >"$T/in"

check_bad_line() {
  stderr_has "standard input line 2: not a record: not valid JSON"
  stderr_has "skipped"
  ! grep -q 'json.exception' "$ERR" || fail "$1: the JSON library's message leaked: $(cat "$ERR")"
}
expect_rc 2 fc-launch --dry-run --vmm qemu --kernel "$T/vmlinux" <"$T/in"
check_bad_line "fc-launch --dry-run"
[ "$(jq -r .id "$OUT" | sort | tr '\n' ' ')" = "vm-l1 vm-l2 " ] || fail "dry run planned: $(jq -r .id "$OUT")"
expect_rc 2 agent-inject --mkdir /opt/x <"$T/in"
check_bad_line agent-inject
[ "$(jq -r .id "$OUT" | sort | tr '\n' ' ')" = "vm-l1 vm-l2 " ] || fail "agent-inject passed on: $(jq -r .id "$OUT")"
pass "a bad line is reported by number and skipped; the others go through"
