#!/usr/bin/env bash
# Secrets are never printed, logged or stored in records: an agent whose
# scripted console prints its secret (SESSION_ID, an agent.env_keys key,
# and a second one named by --redact, split by a NUL and wrapped in ANSI
# colour) fails; the verdict quotes those lines, redacted by value with the
# values read from the image's env file. No byte of the record (printed or
# saved) or of stderr (with -v: every event) holds either secret. A record
# with env_keys whose image cannot be read is refused (fail closed).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"
need_cmd mke2fs
wait_setup
id=vm-leak
secret="sess-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
token="tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
make_record "$id" '[{"name":"vm-agent.service","enabled_in":["multi-user.target.wants"]}]' \
  '{"env_file":"/etc/environment","env_keys":["SESSION_ID"]}'
mkdir -p "$T/root/etc"
printf 'PATH=/usr/bin\nSESSION_ID=%s\nAPI_TOKEN="%s"\n' "$secret" "$token" >"$T/root/etc/environment"
mke2fs -q -F -t ext4 -d "$T/root" "$S/vms/$id/rootfs.ext4" 16M || fail "mke2fs"
python3 - "$REC" "$S/vms/$id/rootfs.ext4" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r["rootfs"] = {"path": sys.argv[2]}
open(sys.argv[1], "w").write(json.dumps(r) + "\n")
PY
boot_lines "$CON"
say "$CON" "[   41.1] vm-agent[167]: starting, session $secret" \
  "[   41.2] vm-agent[167]: token $(printf '\033[1;31m')${token:0:5}$(printf '\033[0m')${token:5}"
printf '[   41.3] vm-agent[167]: session %s rejected, token %s\r\n' "${secret:0:4}"$'\x01'"${secret:4}" "$token" |
  sed 's/\x01/\x00/' >>"$CON"
say "$CON" "[   41.4] systemd[1]: vm-agent.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED" \
  "[   41.5] systemd[1]: vm-agent.service: Failed with result 'exit-code'."
grep -aqF "$secret" "$CON" && grep -aqF "$token" "$CON" || fail "the test is void: the console lacks the secrets"

expect_rc 4 in_ns vm-wait-ready -v --redact API_TOKEN <"$REC"
[ "$(field "$OUT" 'r["ready"]["reason"]')" = unit_failed ] || fail "reason is not unit_failed"
for f in "$OUT" "$ERR" "$S/vms/$id/record.json"; do
  grep -aqF "$secret" "$f" && fail "SESSION_ID's value is in $f: $(grep -aF "$secret" "$f")"
  grep -aqF "$token" "$f" && fail "API_TOKEN's value is in $f"
  grep -aqF "${secret:4}" "$f" && fail "a part of SESSION_ID's value is in $f"
done
# The evidence is still there, redacted by name.
[ "$(field "$OUT" 'any("session [redacted:SESSION_ID] rejected" in e for e in r["ready"]["evidence"])')" = True ] ||
  fail "the evidence lacks the redacted line: $(field "$OUT" 'r["ready"]["evidence"]')"
grep -qF "[redacted:API_TOKEN]" "$S/vms/$id/record.json" || fail "--redact API_TOKEN: nothing redacted"

# Fail closed: env_keys but no image to read their values from.
rm "$S/vms/$id/rootfs.ext4"
expect_rc 1 in_ns vm-wait-ready <"$REC"
stderr_has "refusing to quote console text that may hold them"
[ "$(field "$OUT" 'r["error"]["reason"]')" = cannot_redact ] || fail "error.reason is not cannot_redact"
grep -aqF "$secret" "$OUT" "$ERR" && fail "a secret leaked when refusing"
expect_rc 2 vm-wait-ready --redact 1BAD --list-patterns
stderr_has "'1BAD' is not an environment variable name"
pass "secrets redacted by value in the record and on stderr; fail closed without the image"
