#!/usr/bin/env bash
# The incident, end to end (issue 14): failure scenarios on real boots of the
# guest kit, each through the pipeline an operator runs
#   vmnet-alloc | rootfs-clone | agent-inject | fc-launch | vm-wait-ready | vm-destroy
# in one network namespace with one dnsmasq, scenarios in parallel. Each
# checks the exit code, the verdict's reason, that the cause is named in
# words an operator understands, and prints the time to the verdict next to
# the incident's 120 s (a blind health-check loop that gave up with no
# reason and deleted the evidence). At the end nothing may be left: no VM in
# the state folder, no lease, TAP, VMM or DHCP entry.
#
#   tests/e2e/scenarios.sh [N...]    the scenarios to run (default: all)
#   E2E_VMS=K                        guests booting at once (default 3: see docs/testing.md)
#
#   1 healthy agent, through examples/ci.sh -> ready, the job runs, VMs destroyed
#   2 ExecStart binary missing, through examples/ci.sh -> unit_failed, unit named,
#     the trap archives and destroys
#   3 the agent refuses to start without SESSION_ID -> unit_failed, its words quoted
#   4 systemd-networkd masked in the clone (no reporter) -> network_down
#   5 rootflags= with a typo -> no_root_fs, the kernel's complaint quoted
#   6 the VMM killed mid-boot -> vmm_exited within a second; console kept, lock freed
#   7 four VMs in one pipeline, one crash-looping -> 3 ready, 1 failed and
#     archived, status non-zero; after vm-destroy nothing left
#   8 the unit installed but not enabled -> unit_not_started before the deadline
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../cli/lib.sh"
BOOT_POOL=10.88.0.0/24
BOOT_BR=vmue2e
. "$here/../cli/boot-lib.sh"
need_cmd jq
need_cmd tar
need_cmd flock
need_cmd curl
for t in vm-wait-ready vm-destroy vm-ls; do command -v "$t" >/dev/null || fail "$t is not built"; done
SRC=$BOOT_SRC
W="$T/e2e"
mkdir -p "$W"
boot_dhcp
INCIDENT="incident: 120 s, then 'Timeout exceeded', no reason, evidence deleted"

# The examples, as a user has them: examples/ beside build/guest-kit.
mkdir -p "$W/tree/examples" "$W/tree/build"
ln -s "$KIT" "$W/tree/build/guest-kit"
cp "$SRC/examples/vm-agent.spec.json" "$SRC/examples/ci.sh" "$W/tree/examples/"
SPEC="$W/tree/examples/vm-agent.spec.json"

AGENT=(--copy "$AGENT_BIN:/opt/vm-agent/vm-agent:0755" --unit "$AGENT_UNIT")
LAUNCH=(--vmm qemu --kernel "$KIT/vmlinux" --initrd "$KIT/initrd.img")
# A loaded 2-core host makes a TCG boot take minutes: a long deadline, so
# that what is measured is the verdict, not the deadline.
WAIT=(--timeout 5m)

# secs MS -> "12.3"
secs() { awk -v m="$1" 'BEGIN { printf "%.1f", m / 1000 }'; }
# field FILE ID JQ: a field of VM ID's record in the JSON Lines FILE.
field() { jq -r --arg id "$2" "select(.id == \$id) | $3" "$1"; }
# result N TEXT: the scenario's line in the summary.
result() { printf '%s\n' "$2" >"$W/result.$1"; echo "ok: $1: $2"; }
# words FILE ID REGEX...: the verdict's message says each REGEX (grep -E).
words() {
  local f=$1 id=$2 msg re
  shift 2
  msg=$(field "$f" "$id" '.ready.message')
  for re in "$@"; do
    grep -qE -- "$re" <<<"$msg" || fail "$id: the verdict does not say /$re/: $msg"
  done
}
# gone ID...: nothing of these VMs is left — VMM, TAP, lease, DHCP entry,
# state and run folder — and vm-ls does not list them.
gone() {
  local id rec pid tap
  for id in "$@"; do
    rec="$W/$id.launched"
    if [ -s "$rec" ]; then
      pid=$(field "$rec" "$id" '.vmm.pid // empty')
      tap=$(field "$rec" "$id" '.net.tap // empty')
      if [ -n "$pid" ] && [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$id" && fail "$id: its VMM (pid $pid) still runs"
      fi
      [ -z "$tap" ] || ! in_ns ip link show "$tap" >/dev/null 2>&1 || fail "$id: TAP $tap left"
    fi
    [ ! -e "$S/vms/$id" ] || fail "$id: state folder left: $(ls "$S/vms/$id")"
    [ ! -e "$T/run/$id" ] || fail "$id: run folder left"
    ! grep -rqs "$id" "$BOOT_HOSTS" || fail "$id: DHCP entry left"
    ! in_ns vmnet-alloc list --json | grep -qF "\"$id\"" || fail "$id: lease left"
    ! vm-ls --json | grep -qF "\"$id\"" || fail "$id: vm-ls still lists it"
  done
}
# summary_has ARCHIVE TEXT: the archive's summary.txt says TEXT.
summary_has() {
  tar -xzOf "$1" --wildcards '*/summary.txt' >"$W/summary.$$" || fail "no summary.txt in $1"
  grep -qF -- "$2" "$W/summary.$$" || { cat "$W/summary.$$" >&2; fail "$1: summary.txt lacks '$2'"; }
}

# pipe ID INJECT-ARRAY [LAUNCH-ARRAY [WAIT-ARRAY]]: README command one for
# one VM, whole:
#   vmnet-alloc --id ID | rootfs-clone | agent-inject INJECT... |
#   fc-launch LAUNCH... | vm-wait-ready WAIT... | vm-destroy
# Records after fc-launch in $W/ID.launched, the final ones in $W/ID.out,
# stderr in $W/ID.err; WAIT_RC is vm-wait-ready's exit, PIPE_RC the
# pipeline's (pipefail), WALL its seconds.
pipe() {
  local id=$1
  local -n _inj=$2
  local -n _lau=${3:-LAUNCH}
  local -n _wai=${4:-WAIT}
  local t0=$EPOCHREALTIME st
  set +e
  in_ns vmnet-alloc --pool "$BOOT_POOL" --bridge "$BOOT_BR" --dhcp-hostsdir "$BOOT_HOSTS" \
    --id "$id" -q 2>>"$W/$id.err" |
    rootfs-clone --golden "$KIT/rootfs.ext4" -q 2>>"$W/$id.err" |
    agent-inject -q "${_inj[@]}" 2>>"$W/$id.err" |
    in_ns fc-launch -q "${_lau[@]}" 2>>"$W/$id.err" |
    tee "$W/$id.launched" |
    in_ns vm-wait-ready "${_wai[@]}" 2>>"$W/$id.err" |
    in_ns vm-destroy 2>>"$W/$id.err" >"$W/$id.out"
  st=("${PIPESTATUS[@]}")
  set -e
  WAIT_RC=${st[5]}
  PIPE_RC=0
  local s
  for s in "${st[@]}"; do [ "$s" = 0 ] || PIPE_RC=$s; done
  WALL=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  [ -s "$W/$id.out" ] || { cat "$W/$id.err" >&2; fail "$id: the pipeline printed no record (exit ${st[*]})"; }
}
# verdict ID RC REASON: vm-wait-ready exited RC and the record's verdict is
# REASON; prints what a failing check needs to be understood.
verdict() {
  local id=$1 rc=$2 reason=$3 got
  got=$(field "$W/$id.out" "$id" '.ready.reason // "none"')
  if [ "$WAIT_RC" != "$rc" ] || [ "$got" != "$reason" ]; then
    cat "$W/$id.err" >&2
    boot_report "$id"
    fail "$id: vm-wait-ready exited $WAIT_RC with '$got', expected $rc with '$reason'"
  fi
  ELAPSED=$(secs "$(field "$W/$id.out" "$id" '.ready.elapsed_ms')")
}
# archived ID REASON: the pipeline's vm-destroy archived the failed VM (the
# summary names REASON) and removed it.
archived() {
  local a
  a=$(field "$W/$1.out" "$1" '.destroyed.archive // empty')
  [ -n "$a" ] && [ -f "$a" ] || { cat "$W/$1.err" >&2; fail "$1: no evidence archive: '$a'"; }
  summary_has "$a" "vm-wait-ready: NOT READY ($2)"
  gone "$1"
  ARCHIVE=$a
}

# --- the scenarios -------------------------------------------------------

# 1. Healthy, through examples/ci.sh: every VM ready, the job runs against
# them, the trap destroys them; exit 0.
scenario_1() {
  local art="$W/ci1" rc=0 t0=$EPOCHREALTIME
  in_ns env SESSION_ID="e2e-$$-ok" CI_JOB_ID=e2e1 VMS=1 POOL="$BOOT_POOL" BRIDGE="$BOOT_BR" \
    DHCP_HOSTSDIR="$BOOT_HOSTS" READY_TIMEOUT=5m ARTIFACTS="$art" \
    bash "$W/tree/examples/ci.sh" sh -c 'for ip in $VM_IPS; do curl -fsS "http://$ip:8080/health"; echo; done' \
    >"$W/ci1.out" 2>"$W/ci1.err" || rc=$?
  local wall
  wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  [ "$rc" = 0 ] || { cat "$W/ci1.err" >&2; boot_report ci-e2e1-1; fail "examples/ci.sh exited $rc, expected 0"; }
  [ "$(field "$art/ready.jsonl" ci-e2e1-1 '.ready.reason')" = ready ] || fail "ci-e2e1-1 is not ready"
  [ "$(field "$art/ready.jsonl" ci-e2e1-1 '.ready.units["vm-agent.service"].state')" = running ] ||
    fail "vm-agent.service is not running in the verdict"
  for m in kernel_up root_mounted init_started started:vm-agent.service network_configured; do
    field "$art/ready.jsonl" ci-e2e1-1 '.ready.milestones | keys[]' | grep -qxF "$m" || fail "no $m milestone"
  done
  grep -qF '"status":"ok"' "$W/ci1.out" || { cat "$W/ci1.out" >&2; fail "the job did not reach /health"; }
  grep -qE 'ci-e2e1-1: ready after [0-9][0-9a-z. ]* s \(GET http://[0-9.]+:8080/health answered HTTP 200\)' "$W/ci1.err" ||
    { cat "$W/ci1.err" >&2; fail "no 'ready after' line in words"; }
  [ -z "$(ls "$art"/*.tar.gz 2>/dev/null)" ] || fail "a healthy job archived something"
  cp "$art/ready.jsonl" "$W/ci-e2e1-1.launched"
  gone ci-e2e1-1
  local el
  el=$(secs "$(field "$art/ready.jsonl" ci-e2e1-1 '.ready.elapsed_ms')")
  result 1 "healthy (examples/ci.sh): exit 0, ready after $el s, the job got /health, destroyed; job ${wall} s"
}

# 2. ExecStart binary missing, through examples/ci.sh: the unit is injected,
# its binary is not. unit_failed, the unit and the missing program named;
# the pipeline's vm-destroy archives it, the trap destroys the rest.
scenario_2() {
  local art="$W/ci2" rc=0
  jq 'del(.copy)' "$SPEC" >"$W/tree/examples/nobin.spec.json"
  in_ns env SESSION_ID="e2e-$$-nobin" CI_JOB_ID=e2e2 VMS=1 POOL="$BOOT_POOL" BRIDGE="$BOOT_BR" \
    DHCP_HOSTSDIR="$BOOT_HOSTS" READY_TIMEOUT=5m ARTIFACTS="$art" SPEC="$W/tree/examples/nobin.spec.json" \
    bash "$W/tree/examples/ci.sh" >"$W/ci2.out" 2>"$W/ci2.err" || rc=$?
  [ "$rc" = 4 ] || { cat "$W/ci2.err" >&2; fail "examples/ci.sh exited $rc, expected 4"; }
  local id=ci-e2e2-1 r="$art/ready.jsonl"
  [ "$(field "$r" $id '.ready.reason')" = unit_failed ] || fail "$id: $(field "$r" $id '.ready.reason')"
  [ "$(field "$r" $id '.ready.unit')" = vm-agent.service ] || fail "$id: the unit is not named"
  [ "$(field "$r" $id '.error.code')" = 4 ] || fail "$id: error.code is not 4"
  # systemd's "status=203/EXEC" line may come after the verdict (250 ms
  # after the failure, for a Restart=no unit): the cause is what must be
  # named, the exit status in words when it came in time.
  words "$r" $id 'vm-agent\.service' 'Failed to locate executable /opt/vm-agent/vm-agent' \
    'No such file or directory'
  grep -qF "ci: failed (exit 4)" "$W/ci2.err" || { cat "$W/ci2.err" >&2; fail "the trap did not run"; }
  local a
  a=$(field "$r" $id '.destroyed.archive')
  [ -f "$a" ] && [ "$(dirname "$a")" = "$art" ] || fail "no archive in the artifacts: '$a'"
  summary_has "$a" "vm-wait-ready: NOT READY (unit_failed)"
  ! tar -xzOf "$a" | grep -aqF "e2e-$$-nobin" || fail "the archive holds the secret"
  cp "$r" "$W/$id.launched"
  gone $id
  local el
  el=$(secs "$(field "$r" $id '.ready.elapsed_ms')")
  result 2 "ExecStart missing (examples/ci.sh): exit 4, unit_failed after $el s: $(field "$r" $id '.ready.message' | cut -c1-110)…; archived $(basename "$a")"
}

# 3. The agent refuses to start without SESSION_ID (other keys injected,
# that one forgotten): its own words quoted.
scenario_3() {
  local id=e2e3-nosession inj=("${AGENT[@]}" --env LOG_LEVEL=info --reporter)
  pipe $id inj
  verdict $id 4 unit_failed
  [ "$(field "$W/$id.out" $id '.ready.unit')" = vm-agent.service ] || fail "$id: the unit is not named"
  words "$W/$id.out" $id 'vm-agent\.service' 'vm-agent said "SESSION_ID not set"' 'status 1/FAILURE'
  field "$W/$id.out" $id '.ready.evidence[]' | grep -qF 'SESSION_ID not set' || fail "$id: evidence lacks the agent's line"
  archived $id unit_failed
  result 3 "no SESSION_ID: exit $WAIT_RC, unit_failed after $ELAPSED s: $(field "$W/$id.out" $id '.ready.message' | cut -c1-110)…"
}

# 4. The guest's networking disabled: systemd-networkd masked in the clone
# (agent-inject --symlink /dev/null:...), no reporter (the incident had
# none): the host alone sees that the guest never configured its network.
scenario_4() {
  local id=e2e4-nonet
  local inj=("${AGENT[@]}" --env SESSION_ID --symlink /dev/null:/etc/systemd/system/systemd-networkd.service)
  SESSION_ID="e2e-$$-net" pipe $id inj
  verdict $id 4 network_down
  words "$W/$id.out" $id 'the guest never configured its network' 'no .DHCPv4 address. line' \
    "no answer from 10\.88\." 'EHOSTUNREACH|no ARP answer|never sent a frame'
  archived $id network_down
  result 4 "networkd masked: exit $WAIT_RC, network_down after $ELAPSED s (not timeout): $(field "$W/$id.out" $id '.ready.message' | cut -c1-110)…"
}

# 5. A boot argument that makes the root filesystem unmountable (a typo in
# rootflags=): the kernel's own complaint is the evidence.
scenario_5() {
  local id=e2e5-rootflags inj=("${AGENT[@]}" --env SESSION_ID)
  local lau=("${LAUNCH[@]}" --append-boot-args rootflags=discrad)
  SESSION_ID="e2e-$$-root" pipe $id inj lau
  verdict $id 4 no_root_fs
  words "$W/$id.out" $id 'root filesystem' 'could not be mounted' 'discrad'
  field "$W/$id.out" $id '.ready.evidence[]' | grep -qF "ext4: Unknown parameter 'discrad'" ||
    fail "$id: the kernel's line is not in the evidence: $(field "$W/$id.out" $id '.ready.evidence')"
  archived $id no_root_fs
  result 5 "rootflags=discrad: exit $WAIT_RC, no_root_fs after $ELAPSED s: kernel: \"ext4: Unknown parameter 'discrad'\""
}

# 6. The VMM killed mid-boot (init running): vmm_exited within a second of
# the kill. The console log and vmm.log stay, the rootfs lock is free, the
# console holds the boot from the kernel's first line; vm-destroy archives.
scenario_6() {
  local id=e2e6-killed inj=("${AGENT[@]}" --env SESSION_ID) i pid console
  console="$S/vms/$id/console.log"
  set +e
  { in_ns vmnet-alloc --pool "$BOOT_POOL" --bridge "$BOOT_BR" --dhcp-hostsdir "$BOOT_HOSTS" --id $id -q |
    rootfs-clone --golden "$KIT/rootfs.ext4" -q |
    SESSION_ID="e2e-$$-kill" agent-inject -q "${inj[@]}" |
    in_ns fc-launch -q "${LAUNCH[@]}" | tee "$W/$id.launched" |
    in_ns vm-wait-ready "${WAIT[@]}" 2>"$W/$id.err"
    echo "rc ${PIPESTATUS[5]}"; } |
    while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$W/$id.ts" &
  local bg=$!
  set -e
  for ((i = 0; i < 1500; i++)); do
    [ -s "$W/$id.launched" ] && grep -aqE 'Welcome to|systemd\[1\]|running in system mode' "$console" 2>/dev/null && break
    sleep 0.2
  done
  pid=$(field "$W/$id.launched" $id '.vmm.pid')
  [ -n "$pid" ] || fail "$id: never launched"
  grep -aqE 'Welcome to|systemd\[1\]|running in system mode' "$console" || { boot_report $id; fail "$id: init never ran"; }
  grep -aq 'Reached target.*Multi-User' "$console" && fail "$id: the boot was over before the kill"
  kill -9 "$pid"
  local tk=$EPOCHREALTIME
  wait "$bg" || true
  local line tv rc
  line=$(grep -m1 ' {' "$W/$id.ts") || { cat "$W/$id.err" >&2; fail "$id: no verdict"; }
  tv=${line%% *}
  rc=$(sed -n 's/^[0-9.]* rc //p' "$W/$id.ts")
  cut -d' ' -f2- <<<"$line" >"$W/$id.out"
  WAIT_RC=$rc
  verdict $id 4 vmm_exited
  local dt
  dt=$(awk -v a="$tk" -v b="$tv" 'BEGIN { printf "%.3f", b - a }')
  awk -v d="$dt" 'BEGIN { exit !(d < 1.0) }' || fail "$id: vmm_exited came $dt s after the kill, not within 1 s"
  words "$W/$id.out" $id 'VMM|qemu' 'exited|gone|died'
  # What fc-launch promised (folded from fc-launch-qemu-boot): the console
  # from the kernel's first line, kept after the VMM died; the lock freed.
  grep -a -m1 -n 'Linux version' "$console" | grep -q '^1:' || fail "$id: console.log does not begin with the kernel's first line"
  [ -e "$S/vms/$id/vmm.log" ] || fail "$id: vmm.log gone"
  flock -n "$S/vms/$id/rootfs.ext4" true || fail "$id: the rootfs lock is still held"
  in_ns vm-destroy $id >"$W/$id.destroyed" 2>>"$W/$id.err" || fail "$id: vm-destroy failed"
  local a
  a=$(field "$W/$id.destroyed" $id '.destroyed.archive')
  [ -f "$a" ] || fail "$id: vm-destroy made no archive"
  summary_has "$a" "vm-wait-ready: NOT READY (vmm_exited)"
  gone $id
  result 6 "VMM killed mid-boot: exit $rc, vmm_exited $dt s after the kill ($ELAPSED s into the wait): $(field "$W/$id.out" $id '.ready.message' | cut -c1-90)…"
}

# 7. Four VMs through one pipeline, one broken (its agent has no SESSION_ID
# and Restart=on-failure: a crash loop). Three ready, one failed and
# archived, the pipeline's status non-zero; after vm-destroy of the ready
# ones, nothing of the four is left.
scenario_7() {
  local ids=(e2e7-a e2e7-b e2e7-c e2e7-d) bad=e2e7-c id
  mkdir -p "$W/crashloop"
  sed -e 's/^Restart=.*/Restart=on-failure\nRestartSec=1/' "$AGENT_UNIT" >"$W/crashloop/vm-agent.service"
  grep -q '^RestartSec=1' "$W/crashloop/vm-agent.service" || fail "could not make the crash-looping unit"
  # agent-inject, per VM: the broken one gets the crash-looping unit and no
  # SESSION_ID, in one run (its agent section whole).
  inject_per_vm() {
    local rec
    while IFS= read -r rec; do
      if [ "$(jq -r .id <<<"$rec")" = "$bad" ]; then
        printf '%s\n' "$rec" | agent-inject -q --copy "$AGENT_BIN:/opt/vm-agent/vm-agent:0755" \
          --unit "$W/crashloop/vm-agent.service" --env LOG_LEVEL=info || return
      else
        printf '%s\n' "$rec" | agent-inject -q "${AGENT[@]}" --env SESSION_ID || return
      fi
    done
  }
  local t0=$EPOCHREALTIME st
  export SESSION_ID="e2e-$$-four"
  set +e
  for id in "${ids[@]}"; do
    in_ns vmnet-alloc --pool "$BOOT_POOL" --bridge "$BOOT_BR" --dhcp-hostsdir "$BOOT_HOSTS" --id "$id" -q || exit
  done |
    rootfs-clone --golden "$KIT/rootfs.ext4" -q |
    inject_per_vm |
    in_ns fc-launch -q "${LAUNCH[@]}" | tee "$W/e2e7.launched" |
    in_ns vm-wait-ready "${WAIT[@]}" 2>"$W/e2e7.err" |
    in_ns vm-destroy 2>>"$W/e2e7.err" >"$W/e2e7.out"
  st=("${PIPESTATUS[@]}")
  set -e
  local prc=0 s
  for s in "${st[@]}"; do [ "$s" = 0 ] || prc=$s; done
  local wall
  wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  [ "${st[5]}" = 4 ] || { cat "$W/e2e7.err" >&2; fail "vm-wait-ready exited ${st[5]}, expected 4 (statuses ${st[*]})"; }
  [ "$prc" != 0 ] || fail "the pipeline's status is 0 with a failed VM"
  for id in "${ids[@]}"; do cp "$W/e2e7.launched" "$W/$id.launched"; done
  [ "$(wc -l <"$W/e2e7.out")" = 4 ] || fail "vm-destroy printed $(wc -l <"$W/e2e7.out") records, expected 4"
  local ready
  ready=$(jq -r 'select(.ready.ok == true) | .id' "$W/e2e7.out" | sort | tr '\n' ' ')
  [ "$ready" = "e2e7-a e2e7-b e2e7-d " ] || { cat "$W/e2e7.err" >&2; fail "ready: '$ready', expected e2e7-a e2e7-b e2e7-d"; }
  local reason
  reason=$(field "$W/e2e7.out" $bad '.ready.reason')
  case $reason in
    unit_crash_loop | unit_failed) ;;
    *) cat "$W/e2e7.err" >&2; fail "$bad: $reason, expected unit_crash_loop" ;;
  esac
  words "$W/e2e7.out" $bad 'vm-agent\.service' 'SESSION_ID not set|restart|repeated'
  local a
  a=$(field "$W/e2e7.out" $bad '.destroyed.archive')
  [ -f "$a" ] || fail "$bad: not archived"
  summary_has "$a" "vm-wait-ready: NOT READY ($reason)"
  gone $bad
  for id in e2e7-a e2e7-b e2e7-d; do
    [ -z "$(field "$W/e2e7.out" $id '.destroyed // empty')" ] || fail "$id: a ready VM was destroyed by the pipeline"
    [ -d "$S/vms/$id" ] || fail "$id: a ready VM's state is gone"
  done
  # The end of the job: the ready ones, by the records the pipeline passed on.
  in_ns vm-destroy --all <"$W/e2e7.out" >"$W/e2e7.destroyed" 2>>"$W/e2e7.err" || fail "vm-destroy --all failed"
  gone "${ids[@]}"
  local el_bad times
  el_bad=$(secs "$(field "$W/e2e7.out" $bad '.ready.elapsed_ms')")
  times=$(jq -r 'select(.ready.ok == true) | .ready.elapsed_ms' "$W/e2e7.out" | sort -n |
    awk '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $1 / 1000 }')
  result 7 "4 VMs, 1 broken: exit ${st[5]} (pipeline $prc), 3 ready after $times s, $bad $reason after $el_bad s and archived; nothing left; ${wall} s"
}

# 8. The unit installed but never enabled: it never starts.
# unit_not_started, long before the deadline. (Was wait-boot-notenabled.)
scenario_8() {
  local id=e2e8-notenabled
  local inj=(--copy "$AGENT_BIN:/opt/vm-agent/vm-agent:0755"
    --copy "$AGENT_UNIT:/etc/systemd/system/vm-agent.service:0644" --env SESSION_ID)
  local wai=("${WAIT[@]}" --unit vm-agent)
  SESSION_ID="e2e-$$-off" pipe $id inj LAUNCH wai
  verdict $id 4 unit_not_started
  [ "$(field "$W/$id.out" $id '.ready.unit')" = vm-agent.service ] || fail "$id: the unit is not named"
  field "$W/$id.out" $id '.ready.milestones | keys[]' | grep -qx multi_user || fail "$id: no multi_user milestone"
  words "$W/$id.out" $id 'vm-agent\.service' 'never started|not started|was not started'
  archived $id unit_not_started
  result 8 "unit not enabled: exit $WAIT_RC, unit_not_started after $ELAPSED s: $(field "$W/$id.out" $id '.ready.message' | cut -c1-100)…"
}

# --- the runner ------------------------------------------------------------
all=(7 4 1 2 3 8 5 6) # the longest first
sel=("$@")
[ ${#sel[@]} -gt 0 ] || sel=("${all[@]}")
for n in "${sel[@]}"; do
  declare -F "scenario_$n" >/dev/null || fail "no scenario '$n' (1-8)"
done
# Scenarios run in parallel, up to E2E_VMS guests booting at once (scenario
# 7 boots four: it runs alone when they do not fit beside others).
vms_max=${E2E_VMS:-3}
weight() { if [ "$1" = 7 ]; then echo 4; else echo 1; fi; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)
t_all=$EPOCHREALTIME
echo "e2e: scenarios ${sel[*]}, up to $vms_max VMs at once, load $load0" >&2
# busy: the guests of the scenarios still running (dnsmasq is a job too, so
# not `jobs`).
busy() {
  local i c=0
  for i in "${!spids[@]}"; do kill -0 "${spids[$i]}" 2>/dev/null && c=$((c + ${sw[$i]})); done
  echo $c
}
spids=() sw=()
for n in "${sel[@]}"; do
  w=$(weight "$n")
  while b=$(busy) && [ "$b" -gt 0 ] && [ $((b + w)) -gt "$vms_max" ]; do sleep 0.5; done
  (
    set +e
    (set -e; "scenario_$n") >"$W/s$n.log" 2>&1
    echo $? >"$W/s$n.rc"
  ) &
  spids+=($!)
  sw+=("$w")
done
for p in "${spids[@]}"; do wait "$p" || true; done
failed=()
for n in "${sel[@]}"; do
  if [ "$(cat "$W/s$n.rc" 2>/dev/null)" != 0 ]; then
    failed+=("$n")
    echo "--- scenario $n failed:" >&2
    tail -n 40 "$W/s$n.log" >&2
  fi
done
wall=$(awk -v a="$t_all" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')

# Nothing is left of any scenario: the state folder, leases, TAPs, VMMs,
# DHCP entries (dnsmasq is the one process the namespace may still hold).
if [ ${#failed[@]} = 0 ]; then
  [ -z "$(vm-ls --json)" ] || fail "vm-ls still lists VMs: $(vm-ls --json | cut -c1-200)"
  [ -z "$(in_ns vmnet-alloc list --json)" ] || fail "leases left: $(in_ns vmnet-alloc list --json)"
  [ -z "$(in_ns ip tuntap show)" ] || fail "TAPs left: $(in_ns ip tuntap show)"
  [ -z "$(ls -A "$BOOT_HOSTS")" ] || fail "DHCP entries left: $(ls "$BOOT_HOSTS")"
  for p in $(ip netns pids "$NS"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = dnsmasq ] || fail "a process is left in the namespace: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
  done
fi

echo
echo "e2e: time to verdict per scenario ($INCIDENT):"
for n in "${sel[@]}"; do
  if [ -f "$W/result.$n" ]; then echo "  $n. $(cat "$W/result.$n")"; else echo "  $n. FAILED"; fi
done
echo "e2e: ${#sel[@]} scenarios in ${wall} s wall, E2E_VMS=$vms_max, load $load0 -> $(cut -d' ' -f1-3 /proc/loadavg)"
[ ${#failed[@]} = 0 ] || fail "scenarios failed: ${failed[*]}"
pass "every scenario diagnosed as expected, nothing left behind"
