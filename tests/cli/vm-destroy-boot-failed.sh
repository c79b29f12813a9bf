#!/usr/bin/env bash
# A failed VM on a real boot, its evidence kept. The agent unit prints its
# secret SESSION_ID and fails; the guest has --persist-journal and the
# reporter. vm-logs-archive works while it runs; then the VMM is killed
# with SIGKILL (a hard stop), vm-ls shows it exited, then failed once
# vm-wait-ready has judged it; vm-destroy archives it (the default for
# failed VMs) and removes it. Each member of the archive is checked, the
# secret is in none of its bytes (compressed or not), nor in vm-wait-ready's
# record or stderr, and the guest journal is there, with the failure,
# although the VM was killed.
. "$(dirname "$0")/lib.sh"
BOOT_POOL=10.87.0.0/24 BOOT_BR=vmubr7
. "$(dirname "$0")/boot-lib.sh"
need_cmd sha256sum
need_cmd tar
id=vm-failed$$
secret="sess-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

cat >"$T/vm-agent.service" <<'UNIT'
[Unit]
Description=leaky failing agent
After=network.target

[Service]
Type=exec
EnvironmentFile=/etc/environment
ExecStart=/bin/sh -c 'echo "vm-agent: starting, session $SESSION_ID"; sleep 1; echo "vm-agent: session $SESSION_ID rejected" >&2; exit 3'
Restart=no

[Install]
WantedBy=multi-user.target
UNIT
boot_alloc "$id"
SESSION_ID=$secret boot_launch "$id" --unit "$T/vm-agent.service" --env SESSION_ID \
  --persist-journal --reporter
[ "$(json "$BOOT_REC" 'j["agent"]["journal"]["persistent"]')" = True ] || fail "agent.journal missing"
pid=$BOOT_PID
tap=$(json "$BOOT_REC" 'j["net"]["tap"]')
console="$S/vms/$id/console.log"
boot_console "$id" "vm-agent.service: Failed with result" 300
[ "$(vm_state "$id")" = running ] || fail "a VM without a verdict whose VMM runs: $(vm_state "$id")"
grep -aqF "$secret" "$console" || fail "the test is void: the secret never reached the console"

# While it runs: an archive of the log so far.
expect_rc 0 vm-logs-archive --id "$id"
a1=$(json "$S/vms/$id/record.json" 'j["archive"]["path"]')
[ -f "$a1" ] || fail "no archive at $a1"
grep -aqF "$secret" "$a1" && fail "the secret is in the running VM's archive"

# A hard stop: journald synced within a second, then SIGKILL.
sleep 2
kill -9 "$pid"
for _ in $(seq 50); do vmm_runs "$pid" || break; sleep 0.1; done
[ "$(vm_state "$id")" = exited ] || fail "after kill -9: $(vm_state "$id"), expected exited"
# vm-wait-ready judges it now: the VMM is gone, the console says why.
boot_ready "$id"
[ "$RC" = 4 ] || { cat "$ERR" >&2; boot_report "$id"; fail "vm-wait-ready: exit $RC, expected 4"; }
[ "$(json "$S/vms/$id/record.json" 'j["ready"]["reason"]')" = unit_failed ] ||
  fail "vm-wait-ready's verdict: $(json "$S/vms/$id/record.json" 'j["ready"]')"
[ "$(vm_state "$id")" = failed ] || fail "after the verdict: $(vm_state "$id"), expected failed"
expect_rc 0 vm-ls --failed --json
stdout_has "\"id\":\"$id\""

expect_rc 0 in_ns vm-destroy "$id"
# stderr is vm-destroy's own words; stdout is the record as it came, plus
# its sections.
grep -aF "$secret" "$ERR" && fail "vm-destroy printed the secret on stderr"
cp "$OUT" "$T/destroyed"
a2=$(json "$T/destroyed" 'j["destroyed"]["archive"]')
[ "$(json "$T/destroyed" 'j["destroyed"]["vmm"]')" = not_running ] || fail "the VMM was not found dead"
[ -f "$a2" ] || fail "vm-destroy made no archive of a failed VM"
[ "$(json "$T/destroyed" 'j["archive"]["sha256"]')" = "$(sha256sum "$a2" | cut -d' ' -f1)" ] \
  || fail "archive section's sha256 differs from the file"
[ -f "$a1" ] || fail "the first archive was removed"
[ -e "$S/vms/$id" ] && fail "state folder left"
in_ns ip link show "$tap" >/dev/null 2>&1 && fail "TAP $tap left"
in_ns vmnet-alloc list | grep -q "$id" && fail "lease left"

# The archive opens with plain tar; every member, one by one.
mkdir "$T/x"
tar xzf "$a2" -C "$T/x" || fail "tar xzf failed on $a2"
base=$(basename "$a2" .tar.gz)
d="$T/x/$base"
[ -d "$d" ] || fail "the archive has no folder $base"
for f in summary.txt manifest.json record.json console.log vmm.log rootfs/etc/environment \
  rootfs/etc/systemd/system/vm-agent.service preflight.json journal/journal.txt \
  journal/journal.export host/network.json host/dhcp-host; do
  [ -f "$d/$f" ] || { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"missing\"])" "$d/manifest.json" >&2; fail "member $f missing"; }
done
# No byte of the archive, compressed or not, holds the secret.
grep -aqF "$secret" "$a2" && fail "secret in the compressed archive"
gzip -dc "$a2" | grep -aqF "$secret" && fail "secret in the uncompressed tar"
grep -raqF "$secret" "$T/x" && fail "secret in an extracted member: $(grep -ralF "$secret" "$T/x")"
# manifest.json: every other member with its size and SHA-256.
python3 - "$d" <<'PY' || fail "manifest does not match the members"
import hashlib, json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
names = {e["name"] for e in m["members"]}
on_disk = set()
for root, _, files in os.walk(d):
    for f in files:
        on_disk.add(os.path.relpath(os.path.join(root, f), d))
assert on_disk - {"manifest.json"} == names, (on_disk, names)
for e in m["members"]:
    data = open(os.path.join(d, e["name"]), "rb").read()
    assert len(data) == e["size"], e
    assert hashlib.sha256(data).hexdigest() == e["sha256"], e
assert m["redaction"]["keys"] == ["SESSION_ID"], m["redaction"]
# Killed hard, the guest's ext4 journal needs recovery: replayed on a copy.
assert "journal replayed" in m["image"]["read"], m["image"]
PY
grep -qF "console analysis: FAILED (unit_failed) — vm-agent.service" "$d/summary.txt" \
  || { cat "$d/summary.txt" >&2; fail "summary lacks the console verdict"; }
grep -qF "vm-wait-ready: NOT READY (unit_failed)" "$d/summary.txt" || fail "summary lacks the recorded verdict"
grep -qF "WHAT TO LOOK AT NEXT" "$d/summary.txt" || fail "summary lacks next steps"
[ "$(json "$d/record.json" 'j["error"]["reason"]')" = unit_failed ] || fail "record.json lacks the error"
grep -aqF "vm-agent.service: Failed with result 'exit-code'" "$d/console.log" || fail "console.log lacks the failure"
grep -aqF "[redacted:SESSION_ID]" "$d/console.log" || fail "console.log: secret not replaced"
grep -qxF "SESSION_ID=[redacted:SESSION_ID]" "$d/rootfs/etc/environment" || fail "env file not redacted"
cmp -s "$d/rootfs/etc/systemd/system/vm-agent.service" "$T/vm-agent.service" || fail "unit file differs"
[ "$(json "$d/preflight.json" 'j[0]["unit"]')" = vm-agent.service ] || fail "preflight.json"
[ "$(json "$d/host/network.json" 'j["tap"]["present"]')" = True ] || fail "host/network.json: TAP not seen"
grep -qF "$(json "$BOOT_REC" 'j["net"]["mac"]')" "$d/host/dhcp-host" || fail "host/dhcp-host"
if grep -aq "vmu-report:" "$console.copy" 2>/dev/null || grep -aq "vmu-report:" "$d/console.log"; then
  [ -f "$d/reporter.json" ] || fail "reporter blocks on the console but no reporter.json"
fi
# The guest journal survived the SIGKILL and has the failure.
grep -qF "Failed with result 'exit-code'" "$d/journal/journal.txt" \
  || { tail -20 "$d/journal/journal.txt" >&2; fail "journal.txt lacks the unit's failure"; }
grep -qF "vm-agent: session [redacted:SESSION_ID] rejected" "$d/journal/journal.txt" \
  || fail "journal.txt lacks the agent's (redacted) words"
entries=$(grep -c '^__CURSOR=' "$d/journal/journal.export" || true)
if [ -x /lib/systemd/systemd-journal-remote ]; then
  /lib/systemd/systemd-journal-remote -o "$T/vm.journal" "$d/journal/journal.export" 2>/dev/null \
    || fail "systemd-journal-remote cannot read journal.export"
  [ "$(journalctl --file "$T/vm.journal" -o export | grep -c '^__CURSOR=')" = "$entries" ] \
    || fail "journal.export does not round-trip"
fi

expect_rc 0 in_ns vm-destroy "$id"
pass "failed VM: archived while running and after SIGKILL ($(stat -c %s "$a2") bytes, $entries journal entries), secret in no byte, destroyed twice"
