# A second run on the same record (another unit, another env key) merges
# into the record's agent section: env_keys the union, units by name, files
# by path, other fields last-wins; the first run's entries are not lost.
. "$(dirname "$0")/agent-inject-lib.sh"

head -c 5000 /dev/urandom >"$T/server"
head -c 7000 /dev/urandom >"$T/server2"
mkimg ext4 "$T/golden.ext4"
unit() { # NAME
  printf '[Unit]\nDescription=%s\n[Service]\nExecStart=/opt/agent/server\n[Install]\nWantedBy=multi-user.target\n' \
    "$1" >"$T/$1"
}
unit a.service; unit b.service
id=vm-m1
mkdir -p "$VMUTILS_STATE_DIR/vms/$id"
cp "$T/golden.ext4" "$VMUTILS_STATE_DIR/vms/$id/rootfs.ext4"
jq -nc --arg id "$id" --arg p "$VMUTILS_STATE_DIR/vms/$id/rootfs.ext4" --arg g "$T/golden.ext4" \
  '{v:1,id:$id,created:"2026-01-01T00:00:00Z",rootfs:{path:$p,golden:$g}}' \
  >"$VMUTILS_STATE_DIR/vms/$id/record.json"

ONE=1 "$AI" --id "$id" --copy "$T/server:/opt/agent/server:0755" --unit "$T/a.service" --env ONE \
  >"$T/o1" 2>"$T/e1" || { cat "$T/e1"; fail "first run"; }
TWO=2 "$AI" --id "$id" --copy "$T/server2:/opt/agent/server:0755" --copy "$T/server:/opt/agent/other" \
  --unit "$T/b.service" --env TWO --persist-journal >"$T/o2" 2>"$T/e2" || { cat "$T/e2"; fail "second run"; }
for f in "$T/o2" "$VMUTILS_STATE_DIR/vms/$id/record.json"; do
  jq -e '.agent.env_keys == ["ONE", "TWO"]' "$f" >/dev/null || fail "env_keys not the union: $(jq -c .agent "$f")"
  jq -e '[.agent.units[].name] == ["a.service", "b.service"]' "$f" >/dev/null ||
    fail "units not merged by name: $(jq -c .agent.units "$f")"
  jq -e '[.agent.files[] | [.path, .size]] == [["/opt/agent/server", 7000], ["/opt/agent/other", 5000]]' \
    "$f" >/dev/null || fail "files not merged by path (last wins): $(jq -c .agent.files "$f")"
  jq -e '.agent.journal.persistent == true and .agent.env_file == "/etc/environment"' "$f" >/dev/null ||
    fail "other fields: $(jq -c .agent "$f")"
done
img="$VMUTILS_STATE_DIR/vms/$id/rootfs.ext4"
fsck_clean "$img"
env=$(dbg "$img" 'cat /etc/environment')
grep -qx 'ONE=1' <<<"$env" && grep -qx 'TWO=2' <<<"$env" || fail "the image's env file lacks a key: $env"
# A third run of the same unit replaces its entry, not duplicates it.
"$AI" --id "$id" --unit "$T/a.service" >"$T/o3" 2>"$T/e3" || { cat "$T/e3"; fail "third run"; }
jq -e '[.agent.units[].name] == ["a.service", "b.service"] and (.agent.files | length) == 2' "$T/o3" \
  >/dev/null || fail "third run: $(jq -c .agent "$T/o3")"
echo ok
