# Pipeline mode: records on stdin or --id, rootfs.path edited, the agent
# section added and saved; dry-run prints the plan without values; two
# clones injected concurrently.
. "$(dirname "$0")/agent-inject-lib.sh"

head -c 100000 /dev/urandom >"$T/server"
mkimg ext4 "$T/golden.ext4"
record() { # ID
  mkdir -p "$VMUTILS_STATE_DIR/vms/$1"
  cp "$T/golden.ext4" "$VMUTILS_STATE_DIR/vms/$1/rootfs.ext4"
  jq -nc --arg id "$1" --arg p "$VMUTILS_STATE_DIR/vms/$1/rootfs.ext4" --arg g "$T/golden.ext4" \
    '{v:1,id:$id,created:"2026-01-01T00:00:00Z",rootfs:{path:$p,golden:$g},other:{"kept":true}}' \
    | tee "$VMUTILS_STATE_DIR/vms/$1/record.json"
}
r1=$(record vm-a1); r2=$(record vm-b2)

# Dry run: the plan on stderr, no values anywhere, nothing written.
b=$(sha256sum <"$VMUTILS_STATE_DIR/vms/vm-a1/rootfs.ext4")
echo "$r1" | SECRET=hunter2 "$AI" --dry-run --copy "$T/server:/opt/agent/server:0755" --env SECRET \
  >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "dry run"; }
grep -q 'write    /opt/agent/server' "$T/err" || fail "dry run: no plan: $(cat "$T/err")"
grep -q 'SECRET' "$T/err" || fail "dry run: key not named"
grep -q hunter2 "$T/out" "$T/err" && fail "dry run: value leaked"
[ "$(sha256sum <"$VMUTILS_STATE_DIR/vms/vm-a1/rootfs.ext4")" = "$b" ] || fail "dry run wrote"
jq -e 'has("agent") | not' "$T/out" >/dev/null || fail "dry run added an agent section"
# --image dry run: plan on stdout.
cp "$T/golden.ext4" "$T/other.ext4"
SECRET=hunter2 "$AI" --image "$T/other.ext4" --dry-run --env SECRET >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "image dry run"; }
grep -q 'env      /etc/environment' "$T/out" || fail "image dry run: plan"
grep -q hunter2 "$T/out" "$T/err" && fail "image dry run: value leaked"

# Concurrent injections into two clones, from two processes.
(printf '%s\n' "$r1" | SECRET=one "$AI" --copy "$T/server:/opt/agent/server:0755" --env SECRET >"$T/o1" 2>"$T/e1") &
p1=$!
(printf '%s\n' "$r2" | SECRET=two "$AI" --copy "$T/server:/opt/agent/server:0755" --env SECRET >"$T/o2" 2>"$T/e2") &
p2=$!
wait $p1 || { cat "$T/e1"; fail "clone 1"; }
wait $p2 || { cat "$T/e2"; fail "clone 2"; }
for n in 1 2; do
  id=$([ $n = 1 ] && echo vm-a1 || echo vm-b2)
  img="$VMUTILS_STATE_DIR/vms/$id/rootfs.ext4"
  fsck_clean "$img"
  jq -e '.agent.files[0].path == "/opt/agent/server" and .agent.env_keys == ["SECRET"] and .other.kept' "$T/o$n" >/dev/null \
    || fail "clone $n: record $(cat "$T/o$n")"
  jq -e '.agent.files[0].size == 100000' "$VMUTILS_STATE_DIR/vms/$id/record.json" >/dev/null || fail "clone $n: record not saved"
  want=$([ $n = 1 ] && echo one || echo two)
  [ "$(dbg "$img" 'cat /etc/environment' | grep SECRET)" = "SECRET=$want" ] || fail "clone $n: env"
done
# The golden is untouched and refused.
[ "$(dbg "$T/golden.ext4" 'cat /etc/environment' | grep -c SECRET)" = 0 ] || fail "golden was written"
jq -nc --arg g "$T/golden.ext4" '{v:1,id:"vm-c3",created:"2026-01-01T00:00:00Z",rootfs:{path:$g,golden:$g}}' >"$T/rec"
rc=0; "$AI" --env A=1 <"$T/rec" >"$T/out" 2>"$T/err" || rc=$?
[ $rc = 2 ] || fail "golden as rootfs.path: rc $rc"
# (refused as a path outside the VM's folder, before it is even compared
# with the goldens)
jq -e '.error.reason == "untrusted_path"' "$T/out" >/dev/null || fail "golden: error section $(cat "$T/out")"

# --id works too.
"$AI" --id vm-a1 --mkdir /var/lib/agent >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "--id"; }
jq -e '.agent.files[0].path == "/opt/agent/server" and .id == "vm-a1"' "$T/out" >/dev/null || fail "--id (the first run's files kept): $(cat "$T/out")"
echo ok
