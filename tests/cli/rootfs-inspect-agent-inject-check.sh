#!/usr/bin/env bash
# agent-inject --check: right after the injection, the preflight of each
# unit it installed, with every injected env key required. The seed's
# defect (SESSION_ID put in /etc/environment, which the unit does not load)
# is an error: exit 4, named on stderr, without the value.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-inspect-common.sh"

layout_clean "$T/root"
rm "$T/root/$UNIT" "$T/root/etc/systemd/system/multi-user.target.wants/agent.service" "$T/root/etc/agent/env"
# The unit as the seed shipped it: no EnvironmentFile= at all.
cat >"$T/agent.service" <<'UNIT'
[Unit]
Description=VM Browser Agent
[Service]
Type=exec
User=agent
ExecStart=/opt/agent/server
[Install]
WantedBy=multi-user.target
UNIT

mkimg "$T/root" "$T/bad.ext4"
expect_rc 4 env SESSION_ID=s3cr3t-value agent-inject --image "$T/bad.ext4" --unit "$T/agent.service" \
  --env SESSION_ID --check
stderr_has "env_only_in_etc_environment"
stderr_has "SESSION_ID"
stderr_has "agent.service"
if grep -q s3cr3t "$OUT" "$ERR"; then fail "the value was printed"; fi
jq -e '.units[0].name == "agent.service"' "$OUT" >/dev/null || fail "the agent section was not printed: $(cat "$OUT")"
# The injection itself happened; rootfs-inspect agrees with the preflight.
expect_rc 4 rootfs-inspect check "$T/bad.ext4" --unit agent --require-env SESSION_ID
[ "$(error_codes "$OUT")" = env_only_in_etc_environment ] || fail "rootfs-inspect: $(cat "$OUT")"

# Without --check the same injection exits 0 (the default is unchanged).
mkimg "$T/root" "$T/nocheck.ext4"
expect_rc 0 env SESSION_ID=v agent-inject --image "$T/nocheck.ext4" --unit "$T/agent.service" --env SESSION_ID

# The fixed unit loads /etc/environment: clean, exit 0.
mkdir -p "$T/fixed"
sed 's|^\[Service\]|[Service]\nEnvironmentFile=/etc/environment|' "$T/agent.service" >"$T/fixed/agent.service"
mkimg "$T/root" "$T/good.ext4"
expect_rc 0 env SESSION_ID=v agent-inject --image "$T/good.ext4" --unit "$T/fixed/agent.service" \
  --env SESSION_ID --check
stderr_has "check: agent.service: clean"

# In a pipeline the record gets the error (reason preflight_failed), exit 4.
mkdir -p "$S/vms/vm-check1"
mkimg "$T/root" "$S/vms/vm-check1/rootfs.ext4"
printf '{"v":1,"id":"vm-check1","rootfs":{"path":"%s"}}\n' "$S/vms/vm-check1/rootfs.ext4" >"$T/rec"
expect_rc 4 sh -c "SESSION_ID=v agent-inject --unit '$T/agent.service' --env SESSION_ID --check <'$T/rec'"
jq -e '.error.reason == "preflight_failed" and .error.code == 4 and .agent.units[0].name == "agent.service"' "$OUT" >/dev/null ||
  fail "record: $(cat "$OUT")"
stderr_has "vm-check1: check: agent.service: env_only_in_etc_environment"
pass "agent-inject --check"
