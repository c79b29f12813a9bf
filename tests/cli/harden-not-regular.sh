# What is not a regular file (a FIFO, a folder) is refused before anything
# opens it blocking: exit 2 at once, naming the path, in every tool and for
# every file argument (a FIFO used to hang them, holding the image open).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/harden-common.sh"

G="$T/golden.ext4"
small_golden "$G"
cloned vm-n1
mkfifo "$T/fifo.service"
mkdir "$T/dir.service"
cp "$S/vms/vm-n1/record.json" "$T/record.json"
printf 'K=v\n' >"$T/env"

# refused NAME CMD...: exit 2 within 10 s, stderr says what it is.
refused() {
  local name=$1 rc=0
  shift
  cp "$T/record.json" "$S/vms/vm-n1/record.json"  # a refusal per record marks it failed
  timeout -s KILL 10 "$@" >"$OUT" 2>"$ERR" </dev/null || rc=$?
  [ "$rc" != 137 ] || fail "$name: hung (killed after 10 s)"
  [ "$rc" = 2 ] || { cat "$ERR" >&2; fail "$name: exited $rc, expected 2"; }
  grep -qE "not a regular file|neither a file nor a folder" "$ERR" || { cat "$ERR" >&2; fail "$name: no reason"; }
}

for p in "$T/fifo.service" "$T/dir.service"; do
  refused "rootfs-clone --golden $p" sh -c 'echo "{\"v\":1,\"id\":\"vm-g\"}" | rootfs-clone --golden "$1"' _ "$p"
  jq -e '.error.code == 2' "$OUT" >/dev/null || fail "rootfs-clone: record lacks the error"
  refused "agent-inject --env-file $p" agent-inject --id vm-n1 --env-file "$p"
  refused "agent-inject --spec $p" agent-inject --id vm-n1 --spec "$p"
  refused "agent-inject --image $p" agent-inject --image "$p" --env-file "$T/env"
  [ -d "$p" ] || refused "agent-inject --copy $p" agent-inject --id vm-n1 --copy "$p:/x"
  refused "agent-inject --unit $p" agent-inject --id vm-n1 --unit "$p"
  refused "rootfs-inspect ls $p" rootfs-inspect ls "$p"
  refused "rootfs-inspect diff $p" rootfs-inspect diff "$S/vms/vm-n1/rootfs.ext4" "$p"
  refused "fc-launch --kernel $p" fc-launch --dry-run --vmm qemu --id vm-n1 --kernel "$p"
done
pass "FIFOs and folders are refused at once with exit 2"
