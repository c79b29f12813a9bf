#!/usr/bin/env bash
# vm-logs-archive on a VM as the pipeline leaves it (a real ext4 image, no
# boot): one .tar.gz named <id>-<UTC time>.tar.gz under <state>/archive that
# plain tar opens, with each member there and listed in manifest.json with
# its size and SHA-256; the secret (in the image's env file and on the
# console) in no byte of it; the record gets its `archive` section, saved.
# While the console log grows, the copy is the log as far as it was. Never
# changes the image.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/evidence-lib.sh"
need_cmd tar
need_cmd sha256sum
fake_vm vm-arch 999999 1
img_sum=$(sha256sum <"$S/vms/vm-arch/rootfs.ext4")
expect_rc 0 vm-logs-archive --id vm-arch --redact PATH
archive=$(json "$OUT" 'j["archive"]["path"]')
case $(basename "$archive") in
  vm-arch-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z.tar.gz) ;;
  *) fail "archive name: $archive" ;;
esac
[ "$(dirname "$archive")" = "$S/archive" ] || fail "not under <state>/archive: $archive"
[ "$(ls -A "$S/archive")" = "$(basename "$archive")" ] || fail "more than the archive: $(ls -A "$S/archive")"
[ "$(json "$S/vms/vm-arch/record.json" 'j["archive"]["sha256"]')" = "$(sha256sum "$archive" | cut -d' ' -f1)" ] \
  || fail "saved record's archive.sha256"
[ "$(json "$OUT" 'j["archive"]["size"]')" = "$(stat -c %s "$archive")" ] || fail "archive.size"
[ "$(sha256sum <"$S/vms/vm-arch/rootfs.ext4")" = "$img_sum" ] || fail "the image changed"
stderr_has "vm-arch: archived to $archive"
grep -aqF "$SECRET" "$ERR" "$OUT" && fail "the secret was printed"

mkdir "$T/x"
tar xzf "$archive" -C "$T/x" || fail "plain tar cannot open it"
d="$T/x/$(basename "$archive" .tar.gz)"
for f in summary.txt manifest.json record.json console.log vmm.log rootfs/etc/environment \
  rootfs/etc/systemd/system/vm-agent.service preflight.json; do
  [ -f "$d/$f" ] || fail "member $f missing"
done
gzip -dc "$archive" | grep -aqF "$SECRET" && fail "secret in the tar"
grep -raqF "$SECRET" "$T/x" && fail "secret in a member"
grep -qxF "SESSION_ID=[redacted:SESSION_ID]" "$d/rootfs/etc/environment" || fail "env file"
grep -qxF "PATH=[redacted:PATH]" "$d/rootfs/etc/environment" || fail "--redact PATH"
grep -aqF "vm-agent[168]: session [redacted:SESSION_ID]" "$d/console.log" || fail "console redaction"
python3 - "$d" <<'PY' || fail "manifest"
import hashlib, json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
for e in m["members"]:
    data = open(os.path.join(d, e["name"]), "rb").read()
    assert len(data) == e["size"] and hashlib.sha256(data).hexdigest() == e["sha256"], e
missing = {e["item"]: e["why"] for e in m["missing"]}
assert "journal" in missing and "--persist-journal" in missing["journal"], missing
assert "host/network.json" in missing, missing
PY
grep -qF "console analysis: FAILED (unit_failed)" "$d/summary.txt" || fail "summary verdict"

# A console still being written: the copy is the log as far as it was.
( for i in $(seq 1 20000); do echo "[   20.000000] line $i of a busy console"; done >>"$S/vms/vm-arch/console.log" ) &
writer=$!
expect_rc 0 vm-logs-archive --id vm-arch
wait $writer
a2=$(json "$OUT" 'j["archive"]["path"]')
mkdir "$T/y"
tar xzf "$a2" -C "$T/y"
c2="$T/y/$(basename "$a2" .tar.gz)/console.log"
# Redaction changed the first lines; compare the part after the secret's line.
n=$(wc -c <"$c2")
tail -n +4 "$c2" | cmp -s - <(tail -n +4 "$S/vms/vm-arch/console.log" | head -c $((n - $(head -n 3 "$c2" | wc -c)))) \
  || fail "the archived console is not a prefix of the log"
pass "archive: members, manifest digests, redaction, record section; a growing log copied as far as it was"
