#!/usr/bin/env bash
# agent-inject --reporter puts the guest reporter (script + enabled unit)
# into a real image, e2fsck-clean, recorded as agent.reporter; the script
# is the one inside the binary; rootfs-inspect check shows the reporter.
. "$(dirname "$0")/agent-inject-lib.sh"
mkimg ext4 "$T/img"
cat >"$T/vm-agent.service" <<'UNIT'
[Service]
ExecStart=/opt/a/server
[Install]
WantedBy=multi-user.target
UNIT
"$AI" --image "$T/img" --unit "$T/vm-agent.service" --reporter >"$T/agent.json" 2>"$ERR" \
  || { cat "$ERR" >&2; fail "agent-inject --reporter failed"; }
fsck_clean "$T/img"
[ "$(jq -r .reporter.unit "$T/agent.json")" = vmutils-reporter.service ] || fail "agent.reporter.unit"
[ "$(jq -r .reporter.port "$T/agent.json")" = 8080 ] || fail "agent.reporter.port"
[ "$(jq -c .reporter.units "$T/agent.json")" = '["vm-agent.service"]' ] || fail "agent.reporter.units"
debugfs -R 'cat /usr/local/lib/vmutils/vmutils-reporter.sh' "$T/img" 2>/dev/null >"$T/script"
head -1 "$T/script" | grep -q '^#!/bin/sh' || fail "the script is not in the image"
[ "$(sha256sum <"$T/script" | cut -d' ' -f1)" = "$(jq -r .reporter.sha256 "$T/agent.json")" ] \
  || fail "the script's digest differs from the record"
sh -n "$T/script" || fail "the script is not valid sh"
debugfs -R 'stat /usr/local/lib/vmutils/vmutils-reporter.sh' "$T/img" 2>/dev/null | grep -q 'Mode:  0755' \
  || fail "the script is not 0755"
debugfs -R 'cat /etc/systemd/system/vmutils-reporter.service' "$T/img" 2>/dev/null \
  | grep -q '^Environment="VMU_REPORT_UNITS=vm-agent.service"$' || fail "the unit does not watch vm-agent.service"
debugfs -R 'stat /etc/systemd/system/multi-user.target.wants/vmutils-reporter.service' "$T/img" 2>/dev/null \
  | grep -q 'Type: symlink' || fail "the reporter is not enabled"
"$VMU_BIN/rootfs-inspect" check "$T/img" --unit vm-agent >"$T/find" 2>/dev/null || true
grep -q '"code":"reporter"' "$T/find" || { cat "$T/find" >&2; fail "rootfs-inspect check does not show the reporter"; }

# Port and units given; a second run changes nothing.
"$AI" --image "$T/img" --reporter --reporter-port 9090 --reporter-unit web >"$T/a2.json" 2>"$ERR" || fail "second run"
[ "$(jq -c .reporter.units "$T/a2.json")" = '["web.service"]' ] || fail "--reporter-unit"
debugfs -R 'cat /etc/systemd/system/vmutils-reporter.service' "$T/img" 2>/dev/null | grep -q 'VMU_REPORT_PORT=9090' \
  || fail "--reporter-port"
fsck_clean "$T/img"

# Bad input.
expect_rc 2 "$AI" --image "$T/img" --reporter --reporter-port 0
stderr_has "--reporter-port: '0' is not a port number"
expect_rc 2 "$AI" --image "$T/img" --reporter-port 9000 --env A=1
stderr_has "--reporter-port and --reporter-unit go with --reporter"

# An image without it.
mkimg ext4 "$T/img2"
"$VMU_BIN/rootfs-inspect" check "$T/img2" --unit vm-agent >"$T/find2" 2>/dev/null || true
grep -q '"code":"no_reporter"' "$T/find2" || fail "no_reporter not reported"
pass "reporter installed, recorded and shown"
