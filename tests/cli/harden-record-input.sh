# Hostile records on stdin and in the state folder: nested 100,000 deep,
# a number no double holds (1e400), schema versions out of range. Each is
# refused on its own line (exit 2 at the end), never a crash, and the next
# record still goes through, in rootfs-clone, agent-inject and fc-launch.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/harden-common.sh"

G="$T/golden.ext4"
small_golden "$G"
: >"$T/vmlinux"
deep="$(head -c 100000 /dev/zero | tr '\0' '[')$(head -c 100000 /dev/zero | tr '\0' ']')"
printf '{"id":"a","v":1,"x":%s}\n' "$deep" >"$T/deep.jsonl"

bad_lines() {
  cat "$T/deep.jsonl"
  rec big '"x":1e400'
  rec neg '"x":0' | sed 's/"v":1/"v":-7/'
  rec zero | sed 's/"v":1/"v":0/'
  rec huge | sed 's/"v":1/"v":18446744073709551615/'
  rec "$1"
}

# rootfs-clone: the good record after the bad ones is cloned.
bad_lines good1 >"$T/in"
expect_rc 2 rootfs-clone --golden "$G" <"$T/in"
[ "$(jq -r .id "$OUT")" = good1 ] || fail "rootfs-clone: good record not passed on: $(cat "$OUT")"
jq -e '.rootfs.path' "$OUT" >/dev/null || fail "rootfs-clone: good record not cloned"
stderr_has "standard input line 1: not a record: nested deeper than 64"
stderr_has "standard input line 2: not a record: not valid JSON"
stderr_has "standard input line 3: record 'neg' has schema version -7"
stderr_has "standard input line 4: record 'zero' has schema version 0"
stderr_has "standard input line 5: record 'huge' has schema version 18446744073709551615"
grep -q "internal error" "$ERR" && fail "internal error: $(cat "$ERR")"
for id in a big neg zero huge; do [ ! -e "$S/vms/$id" ] || fail "a folder was made for refused '$id'"; done
no_temps
pass "rootfs-clone refuses each bad line and goes on"

# agent-inject: same, the good record gets its agent section.
bad_lines x >"$T/bad"
{ head -n 5 "$T/bad"; cat "$OUT"; } >"$T/in2"
expect_rc 2 agent-inject --env K=v <"$T/in2"
jq -e '.agent.env_keys == ["K"]' "$OUT" >/dev/null || fail "agent-inject: good record not injected: $(cat "$OUT")"
stderr_has "standard input line 1: not a record: nested deeper than 64"
grep -q "internal error" "$ERR" && fail "internal error: $(cat "$ERR")"
pass "agent-inject refuses each bad line and goes on"

# fc-launch --dry-run: the bad lines are reported, the good one planned.
expect_rc 2 fc-launch --dry-run --vmm qemu --kernel "$T/vmlinux" <"$T/in2"
[ "$(wc -l <"$OUT")" = 1 ] || fail "fc-launch --dry-run: expected one plan: $(cat "$OUT")"
stderr_has "standard input line 2: not a record: not valid JSON"
pass "fc-launch --dry-run refuses each bad line and goes on"

# A saved record.json nested 100,000 deep, through --id: refused, no crash,
# the saved record unchanged, nothing half-made.
mkdir -p "$S/vms/deep"
sed 's/"id":"a"/"id":"deep"/' "$T/deep.jsonl" >"$S/vms/deep/record.json"
sum=$(sha256sum <"$S/vms/deep/record.json")
expect_rc 1 rootfs-clone --golden "$G" --id deep
stderr_has "nested deeper than 64"
[ ! -e "$S/vms/deep/rootfs.ext4" ] || fail "a clone was made for an unreadable record"
expect_rc 1 agent-inject --env K=v --id deep
[ "$(sha256sum <"$S/vms/deep/record.json")" = "$sum" ] || fail "the saved record changed"
no_temps
pass "a deep saved record is refused through --id"
