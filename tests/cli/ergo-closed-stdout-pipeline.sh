#!/usr/bin/env bash
# A pipeline tool whose stdout closes (the next program exited): one line
# on stderr names the records not passed on, exit 1, and their records are
# still saved in the state folder.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ergo-common.sh"
need_cmd python3
need_cmd jq
here=$(cd "$(dirname "$0")" && pwd)
make_golden "$T/g.ext4" 16M
for i in 1 2 3; do new_vm vm-c$i; done
rc=0
python3 "$here/closed-pipe.py" gone rootfs-clone --golden "$T/g.ext4" --id vm-c1 --id vm-c2 --id vm-c3 \
  >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" -eq 1 ] || { cat "$ERR" >&2; fail "exit $rc, want 1"; }
[ "$(grep -c 'standard output was closed' "$ERR")" -eq 1 ] || { cat "$ERR" >&2; fail "not one line"; }
stderr_has "not passed on: vm-c1 (saved in '$S/vms')"
stderr_has "not worked on: vm-c2, vm-c3"
[ "$(saved vm-c1 | jq -r .rootfs.path)" = "$S/vms/vm-c1/rootfs.ext4" ] || fail "vm-c1's record was not saved"
[ "$(saved vm-c2 | jq -r 'has("rootfs")')" = false ] || fail "vm-c2 was worked on"

# The same from stdin, the tool's usual place in a pipe.
for i in 1 2 3; do new_vm vm-d$i; saved vm-d$i; echo; done >"$T/in"
rc=0
python3 "$here/closed-pipe.py" gone rootfs-clone --golden "$T/g.ext4" <"$T/in" >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" -eq 1 ] || { cat "$ERR" >&2; fail "stdin: exit $rc, want 1"; }
[ "$(grep -c 'standard output was closed' "$ERR")" -eq 1 ] || { cat "$ERR" >&2; fail "stdin: not one line"; }
stderr_has "saved in '$S/vms'"

# A listing command says it in one line too (nothing is lost; exit 0).
rc=0
python3 "$here/closed-pipe.py" gone rootfs-inspect ls "$T/g.ext4" / >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" -eq 0 ] || fail "ls: exit $rc"
stderr_has "standard output was closed by the program reading it: the rest of the listing was not written"
pass "a closed stdout: one line, records saved, exit 1"
