# SIGINT stops every tool with exit 130, and a pipeline tool never passes on
# a record as if it had worked on it: records it had not started leave with
# error {"reason":"interrupted"} (so later tools pass them untouched) and
# their saved records stay as they were. Tested for every tool.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/harden-common.sh"

trap '' PIPE  # a tool that stopped reading is a failure to report, not a SIGPIPE
G="$T/golden.ext4"
small_golden "$G"
: >"$T/vmlinux"
cloned vm-b1 vm-b2
first_rec=$(grep '"vm-b1"' "$T/cloned.out")
second_rec=$(grep '"vm-b2"' "$T/cloned.out")

# interrupt_pipeline NAME FIRST SECOND CMD...: CMD reads FIRST from a FIFO
# and works on it; once its output holds it, SIGINT; SECOND is then written
# (within the drain window) and the FIFO closed. Sets $rc.
interrupt_pipeline() {
  local name=$1 first=$2 second=$3
  shift 3
  rm -f "$T/fifo"
  mkfifo "$T/fifo"
  "$@" <"$T/fifo" >"$OUT" 2>"$ERR" &
  local pid=$!
  exec 3>"$T/fifo"
  printf '%s\n' "$first" >&3
  for _ in $(seq 1000); do [ -s "$OUT" ] && break; sleep 0.01; done
  [ -s "$OUT" ] || { exec 3>&-; kill $pid; fail "$name: no output for the first record: $(cat "$ERR")"; }
  kill -INT $pid
  sleep 0.3
  printf '%s\n' "$second" >&3 2>/dev/null || true
  exec 3>&-
  rc=0
  wait $pid || rc=$?
  [ "$rc" = 130 ] || { cat "$ERR" >&2; fail "$name: exited $rc, expected 130"; }
  [ "$(wc -l <"$OUT")" = 2 ] || fail "$name: expected 2 records out: $(cat "$OUT")"
  stderr_has "interrupted: 1 record passed on unprocessed"
}

# The second record must leave marked, unsaved.
unprocessed() {
  local name=$1 id=$2
  sed -n 2p "$OUT" | jq -e --arg t "$name" --arg id "$id" \
    '.id == $id and .error.reason == "interrupted" and .error.code == 130 and .error.tool == $t' \
    >/dev/null || fail "$name: the unprocessed record is not marked: $(sed -n 2p "$OUT")"
}

# rootfs-clone: the first cloned, the second neither cloned nor saved.
interrupt_pipeline rootfs-clone "$(rec vm-c1)" "$(rec vm-c2)" rootfs-clone --golden "$G"
sed -n 1p "$OUT" | jq -e '.rootfs.path and (has("error") | not)' >/dev/null || fail "first not cloned"
unprocessed rootfs-clone vm-c2
[ ! -e "$S/vms/vm-c2" ] || fail "rootfs-clone: the unprocessed record was saved or cloned"
pass "rootfs-clone"

# agent-inject: the second keeps its saved record (no agent, no error).
interrupt_pipeline agent-inject "$first_rec" "$second_rec" \
  agent-inject --env K=v
sed -n 1p "$OUT" | jq -e '.agent.env_keys == ["K"]' >/dev/null || fail "first not injected"
unprocessed agent-inject vm-b2
jq -e '(has("agent") or has("error")) | not' "$S/vms/vm-b2/record.json" >/dev/null ||
  fail "agent-inject: the saved record of the unprocessed VM changed"
pass "agent-inject"

# The marked record passes through the next tools untouched: fc-launch
# (real run) passes it on, --dry-run does not plan it.
sed -n 2p "$OUT" >"$T/marked"
expect_rc 0 fc-launch --vmm qemu --kernel /nonexistent <"$T/marked"
cmp -s "$OUT" "$T/marked" || fail "fc-launch changed a failed record"
expect_rc 0 fc-launch --dry-run --vmm qemu --kernel /nonexistent <"$T/marked"
[ ! -s "$OUT" ] || fail "fc-launch --dry-run planned an interrupted record"
pass "an interrupted record passes through fc-launch untouched"

# fc-launch: a failed first record passes untouched, the second is marked.
failed=$(rec vm-f1 '"error":{"tool":"x","code":4,"reason":"r","message":"m"}')
interrupt_pipeline fc-launch "$failed" "$first_rec" \
  fc-launch --vmm qemu --kernel /nonexistent
unprocessed fc-launch vm-b1
pass "fc-launch"

# fc-launch --dry-run: plans, then stops on SIGINT without planning more.
rm -f "$T/fifo"; mkfifo "$T/fifo"
fc-launch --dry-run --vmm qemu --kernel "$T/vmlinux" <"$T/fifo" >"$OUT" 2>"$ERR" &
pid=$!
exec 3>"$T/fifo"
echo "$first_rec" >&3
for _ in $(seq 1000); do [ -s "$OUT" ] && break; sleep 0.01; done
kill -INT $pid
sleep 0.3
echo "$second_rec" >&3 2>/dev/null || true
exec 3>&-
rc=0; wait $pid || rc=$?
[ "$rc" = 130 ] || { cat "$ERR" >&2; fail "fc-launch --dry-run exited $rc, expected 130"; }
[ "$(wc -l <"$OUT")" = 1 ] || fail "fc-launch --dry-run planned after SIGINT"
pass "fc-launch --dry-run"

# stopped NAME CMD...: CMD is stopped (SIGSTOP) once its first output line
# exists, sent SIGINT, continued; it must stop early with 130 and say so.
stopped() {
  local name=$1
  shift
  "$@" >"$OUT" 2>"$ERR" &
  local pid=$!
  for _ in $(seq 2000); do [ -s "$OUT" ] && break; sleep 0.005; done
  kill -STOP $pid
  kill -INT $pid
  kill -CONT $pid
  rc=0
  wait $pid || rc=$?
  [ "$rc" = 130 ] || { cat "$ERR" >&2; fail "$name: exited $rc, expected 130"; }
  stderr_has "interrupted"
}

# vmnet-alloc: stops allocating.
stopped vmnet-alloc vmnet-alloc --no-tap -p 10.77.0.0/16 -n 2000
[ "$(wc -l <"$OUT")" -lt 2000 ] || fail "vmnet-alloc allocated all 2000 after SIGINT"
pass "vmnet-alloc"

# rootfs-inspect: a walk of a tree stops.
mkdir -p "$T/many"
for i in $(seq 3000); do : >"$T/many/f$i"; done
mke2fs -q -F -t ext4 -N 4096 -d "$T/many" "$T/many.ext4" 32M >/dev/null 2>&1 || fail mke2fs
stopped rootfs-inspect rootfs-inspect ls --long "$T/many.ext4" /
pass "rootfs-inspect"
