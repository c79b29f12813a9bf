#!/usr/bin/env bash
# check on a clean agent image: exit 0, no error or warning, the evidence
# says where the unit, its enablement, its binaries and its env keys are;
# env values never appear.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-inspect-common.sh"

layout_clean "$T/root"
mkimg "$T/root" "$T/clean.ext4"
before=$(sha256sum <"$T/clean.ext4")

expect_rc 0 rootfs-inspect check "$T/clean.ext4" --unit agent.service --require-env SESSION_ID \
  --require-env PORT --require-env MODE
[ -z "$(error_codes "$OUT")" ] || fail "clean image has errors: $(cat "$OUT")"
[ -z "$(jq -r 'select(.severity == "warning") | .code' "$OUT")" ] || fail "warnings: $(cat "$OUT")"
stderr_has "agent.service"
stderr_has "clean"
# Every line is a finding with the five fields.
jq -s -e 'all(.[]; (.severity | test("^(error|warning|info)$")) and (.code | type == "string")
  and .unit == "agent.service" and (.message | type == "string") and (.evidence | type == "object"))' \
  "$OUT" >/dev/null || fail "bad finding shape"
[ "$(jq -s 'length' "$OUT")" = "$(wc -l <"$OUT")" ] || fail "not JSON Lines"
has '(.code == "unit_file") and (.evidence.path == "/etc/systemd/system/agent.service")' ||
  fail "unit_file evidence: $(cat "$OUT")"
has '(.code == "enabled") and (.evidence.default_target == "multi-user.target")' ||
  fail "enabled evidence: $(cat "$OUT")"
has "(.code == \"exec\" and .evidence.key == \"ExecStart\") and (.evidence.elf.interpreter == \"$LOADER\")" || fail "ELF loader evidence: $(cat "$OUT")"
has '(.code == "exec" and .evidence.key == "ExecStartPre") and (.evidence.resolved_interpreter == "/bin/sh")' || fail "#!/usr/bin/env sh evidence: $(cat "$OUT")"
[ "$(jq -r 'select(.code == "env_key_set") | .evidence.key' "$OUT" | sort | paste -sd, -)" = "MODE,PORT,SESSION_ID" ] ||
  fail "env keys: $(cat "$OUT")"
has '.code == "wait_online_provider"' || fail "no wait-online evidence"
if grep -q 's3cr3t' "$OUT" "$ERR"; then fail "an env value was printed"; fi
# "agent" means agent.service; the image is never changed.
expect_rc 0 rootfs-inspect check "$T/clean.ext4" --unit agent
[ "$(sha256sum <"$T/clean.ext4")" = "$before" ] || fail "check changed the image"
# A unit with an optional, missing EnvironmentFile= is still clean.
has '.code == "environment_file_optional_missing"' || fail "optional env file"
pass "check: clean agent image"
