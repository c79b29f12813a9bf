#!/usr/bin/env bash
# Listing output through libsmartcols: a table on a terminal that fits its
# width (rootfs-inspect check printed 194 columns on 80), JSON Lines in a
# pipe or with --json, -o picks columns (an unknown one: exit 2 listing the
# valid ones), --no-legend drops the header; colour honours --color,
# NO_COLOR and TERM=dumb.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ergo-common.sh"
need_cmd jq
root="$T/root"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants" "$root/usr/bin"
cat >"$root/etc/systemd/system/agent.service" <<'UNIT'
[Unit]
Description=An agent whose program and environment file are missing, with a long enough path to need wrapping
[Service]
ExecStart=/opt/a/very/long/path/to/an/agent/program/that/does/not/exist/in/this/image --listen 0.0.0.0:8080
EnvironmentFile=/etc/agent/environment-file-that-is-not-there
User=agent-user-that-does-not-exist
[Install]
WantedBy=multi-user.target
UNIT
mke2fs -q -F -t ext4 -d "$root" "$T/img.ext4" 16M >/dev/null 2>&1 || fail mke2fs
unset NO_COLOR

# check on an 80-column terminal: nothing wider than 80.
in_tty 80 "rootfs-inspect check '$T/img.ext4' --unit agent --require-env KEY 2>/dev/null"
grep -q "SEVERITY" "$TTY_OUT" || { cat -v "$TTY_OUT" >&2; fail "no table header"; }
grep -q "error" "$TTY_OUT" || fail "no findings in the table"
long=$(sed 's/\x1b\[[0-9;]*m//g; s/\r$//' "$TTY_OUT" | awk 'length($0) > 80')
[ -z "$long" ] || fail "check's table is wider than 80 columns: $long"
# Colour on a terminal by default (severity red), none with NO_COLOR, TERM=dumb or --color never.
grep -q $'\033\\[' "$TTY_OUT" || fail "no colour on a terminal"
for env in "NO_COLOR=1" "TERM=dumb"; do
  in_tty 80 "$env rootfs-inspect check '$T/img.ext4' --unit agent 2>&1"
  ! grep -q $'\033\\[[0-9;]*m' "$TTY_OUT" || fail "colour with $env"
done
in_tty 80 "rootfs-inspect check --color never '$T/img.ext4' --unit agent 2>&1"
! grep -q $'\033\\[[0-9;]*m' "$TTY_OUT" || fail "colour with --color never"
# --color always colours even in a pipe.
rootfs-inspect check --color always --unit agent "$T/img.ext4" 2>"$ERR" >/dev/null || true
grep -q $'\033\\[1;31merror' "$ERR" || fail "--color always: no colour on stderr in a pipe"

# -o, --no-legend, --json on a terminal.
in_tty 80 "rootfs-inspect check -o code,SEVERITY --no-legend '$T/img.ext4' --unit agent 2>/dev/null"
! grep -q "SEVERITY\|CODE" "$TTY_OUT" || fail "--no-legend kept the header"
first=$(sed 's/\x1b\[[0-9;]*m//g' "$TTY_OUT" | tr -d '\r' | head -1 | awk '{print $2}')
[[ $first == error || $first == warning || $first == info ]] || fail "-o order: $(head -1 "$TTY_OUT")"
in_tty 80 "rootfs-inspect check --json '$T/img.ext4' --unit agent 2>/dev/null"
head -1 "$TTY_OUT" | tr -d '\r' | jq -e .code >/dev/null || fail "--json on a terminal is not JSON Lines"
expect_rc 2 rootfs-inspect check -o CODE,NOPE "$T/img.ext4" --unit agent
stderr_has "-o: unknown column 'NOPE'; the columns are SEVERITY,CODE,UNIT,MESSAGE"
# In a pipe: JSON Lines, whole rows; with -o only those fields.
rootfs-inspect check "$T/img.ext4" --unit agent >"$OUT" 2>/dev/null || true
jq -e 'has("evidence")' <(head -1 "$OUT") >/dev/null || fail "pipe: not whole JSON rows"
rootfs-inspect check -o code "$T/img.ext4" --unit agent >"$OUT" 2>/dev/null || true
[ "$(head -1 "$OUT" | jq -c 'keys')" = '["code"]' ] || fail "pipe -o code: $(head -1 "$OUT")"

# vmnet-alloc list and rootfs-inspect ls, diff: the same options.
export NO_COLOR=1
new_vm vm-t1
in_tty 80 "vmnet-alloc list -o ID,IP --no-legend"
[ "$(tr -d "\r" <"$TTY_OUT" | awk "NF {print \$1, \$2}")" = "vm-t1 10.77.0.2" ] || fail "list -o: $(cat "$TTY_OUT")"
in_tty 80 "rootfs-inspect ls -l '$T/img.ext4' /etc"
grep -q "^MODE *UID *GID *SIZE *MTIME *PATH" "$TTY_OUT" || fail "ls -l header: $(head -1 "$TTY_OUT")"
grep -q "^drwx" "$TTY_OUT" || fail "ls -l modes: $(cat "$TTY_OUT")"
cp "$T/img.ext4" "$T/img2.ext4"
agent-inject -q --image "$T/img2.ext4" --mkdir /etc/added >/dev/null
in_tty 80 "rootfs-inspect diff '$T/img.ext4' '$T/img2.ext4' 2>/dev/null"
grep -q "^CHANGE *PATH *DETAIL" "$TTY_OUT" || fail "diff header: $(head -1 "$TTY_OUT")"
grep -q "added *\/etc\/added *directory" "$TTY_OUT" || fail "diff row: $(cat "$TTY_OUT")"
pass "tables fit the terminal; --json, -o, --no-legend, colour rules"
