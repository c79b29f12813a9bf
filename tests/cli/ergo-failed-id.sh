#!/usr/bin/env bash
# A VM named by --id whose record carries an error: stderr says which tool
# failed it and why, the exit code is the error's; advice names the right
# tool; --retry clears the error and runs the step again; records on stdin
# still pass through untouched; --force does not bypass it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ergo-common.sh"
need_cmd jq
make_golden "$T/g.ext4" 16M
: >"$T/not-an-image"
: >"$T/vmlinux"
new_vm vm-a

# A failed clone.
expect_rc 2 rootfs-clone --id vm-a --golden "$T/not-an-image"
[ "$(saved vm-a | jq -r .error.tool)" = rootfs-clone ] || fail "the clone's error was not saved"

# fc-launch names rootfs-clone and says to retry there, not "run rootfs-clone first".
expect_rc 2 fc-launch --id vm-a --dry-run --vmm qemu --kernel "$T/vmlinux"
stderr_has "vm-a: rootfs-clone failed on this VM (exit 2, golden_not_ext4)"
stderr_has "fix that and run 'rootfs-clone --id vm-a --retry' before fc-launch"
! grep -q "run rootfs-clone first\|no rootfs.path" "$ERR" || fail "wrong advice: $(cat "$ERR")"
# The same without --dry-run: exit 2, the record printed as it is (for the tools after).
expect_rc 2 fc-launch --id vm-a --vmm qemu --kernel "$T/vmlinux"
[ "$(jq -r .error.tool "$OUT")" = rootfs-clone ] || fail "the failed record was not passed on"
# fc-launch --retry cannot mend a clone that never happened.
expect_rc 2 fc-launch --id vm-a --retry --vmm qemu --kernel "$T/vmlinux"
stderr_has "--retry here cannot mend that, as the rootfs-clone step did not finish"
[ "$(saved vm-a | jq -r .error.tool)" = rootfs-clone ] || fail "fc-launch --retry changed the record"

# rootfs-clone itself, without --retry (and with --force): reported, exit 2.
for force in "" --force; do
  expect_rc 2 rootfs-clone --id vm-a --golden "$T/g.ext4" $force
  stderr_has "once the cause is fixed, run it again: rootfs-clone --id vm-a --retry"
done
[ ! -e "$S/vms/vm-a/rootfs.ext4" ] || fail "a failed VM was cloned without --retry"

# --retry clears the error and clones.
expect_rc 0 rootfs-clone --id vm-a --retry --golden "$T/g.ext4"
stderr_has "clearing the error rootfs-clone left (golden_not_ext4)"
[ "$(saved vm-a | jq -r 'has("error")')" = false ] || fail "the error is still saved"
[ -f "$S/vms/vm-a/rootfs.ext4" ] || fail "no clone after --retry"

# An error of a later step: an earlier tool's --retry may redo its own step.
jq -c '.error = {"tool":"vm-wait-ready","code":4,"reason":"unit_failed","message":"agent failed"}' \
  "$S/vms/vm-a/record.json" >"$T/r" && cp "$T/r" "$S/vms/vm-a/record.json"
expect_rc 4 agent-inject --id vm-a --mkdir /opt/agent
stderr_has "vm-a: vm-wait-ready failed on this VM (exit 4, unit_failed): agent failed; to run agent-inject on it again: agent-inject --id vm-a --retry"
# vm-wait-ready (its own record loop, cli::RecordStream) does the same: the
# failed record reported and printed as it is; --retry takes it up again
# (here it then fails for want of a VMM: it was worked on).
expect_rc 4 vm-wait-ready --id vm-a
stderr_has "vm-a: vm-wait-ready failed on this VM (exit 4, unit_failed): agent failed; once the cause is fixed, run it again: vm-wait-ready --id vm-a --retry"
[ "$(jq -r .error.reason "$OUT")" = unit_failed ] || fail "vm-wait-ready did not pass the failed record on"
cp "$S/vms/vm-a/record.json" "$T/r"
expect_rc 2 vm-wait-ready --id vm-a --retry
stderr_has "clearing the error vm-wait-ready left (unit_failed)"
[ "$(jq -r .error.reason "$OUT")" = not_launched ] || fail "vm-wait-ready --retry did not wait again"
cp "$T/r" "$S/vms/vm-a/record.json"
# The tools made for failed VMs take them without --retry, which they lack.
expect_rc 2 vm-destroy --id vm-a --retry
stderr_has "unknown option '--retry'"
expect_rc 0 agent-inject --id vm-a --retry --mkdir /opt/agent
[ "$(saved vm-a | jq -r 'has("error")')" = false ] || fail "agent-inject --retry left the error"

# Records on stdin: a failed one passes through untouched, exit 0; --retry
# needs --id.
jq -c '.error = {"tool":"rootfs-clone","code":2,"reason":"x","message":"y"}' "$S/vms/vm-a/record.json" >"$T/failed.jsonl"
expect_rc 0 rootfs-clone --golden "$T/g.ext4" --force <"$T/failed.jsonl"
cmp -s <(jq -cS . "$OUT") <(jq -cS . "$T/failed.jsonl") || fail "a failed record on stdin was changed"
expect_rc 2 rootfs-clone --golden "$T/g.ext4" --retry <"$T/failed.jsonl"
stderr_has "--retry works with --id only"
pass "failed --id records: reported with the right advice, --retry redoes the step"
