# Shared by the rootfs-inspect tests (sourced after lib.sh): a clean agent
# tree laid out in a folder, images made from it with mke2fs -d (no root).
need_cmd mke2fs
need_cmd debugfs
need_cmd jq
[ -x /bin/true ] || skip "needs /bin/true to copy into the image"
LOADER=$(readelf -l /bin/true 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ -n "$LOADER" ] || LOADER=/lib64/ld-linux-x86-64.so.2
[ -e "$LOADER" ] || skip "needs the dynamic loader $LOADER of /bin/true"

UNIT=etc/systemd/system/agent.service

# layout_clean DIR: an agent that would start: a dynamically linked ELF
# server (/bin/true) with its loader, an ExecStartPre script run through
# `#!/usr/bin/env sh`, the unit enabled for multi-user.target (the default),
# its user and group, an environment file with SESSION_ID, and a wait-online
# provider because the unit is ordered after network-online.target.
layout_clean() {
  local r=$1
  mkdir -p "$r"/etc/systemd/system/multi-user.target.wants "$r"/lib/systemd/system/network-online.target.wants \
    "$r"/opt/agent "$r"/usr/bin "$r"/bin "$r"/etc/agent "$r$(dirname "$LOADER")"
  cp /bin/true "$r"/opt/agent/server
  cp -L /bin/true "$r"/bin/sh
  cp -L /bin/true "$r"/usr/bin/env
  cp -L "$LOADER" "$r$LOADER"
  chmod 0755 "$r"/opt/agent/server "$r"/bin/sh "$r"/usr/bin/env
  printf '#!/usr/bin/env sh\nexit 0\n' >"$r"/opt/agent/pre.sh
  chmod 0755 "$r"/opt/agent/pre.sh
  printf '[Unit]\nDescription=Multi-User System\n' >"$r"/lib/systemd/system/multi-user.target
  printf '[Unit]\nDescription=Network is Online\n' >"$r"/lib/systemd/system/network-online.target
  ln -s /lib/systemd/system/multi-user.target "$r"/etc/systemd/system/default.target
  printf '[Service]\nType=oneshot\nExecStart=/bin/true\n' >"$r"/lib/systemd/system/systemd-networkd-wait-online.service
  ln -s ../systemd-networkd-wait-online.service \
    "$r"/lib/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service
  cat >"$r/$UNIT" <<'UNIT'
[Unit]
Description=VM Browser Agent
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
User=agent
Group=agent
WorkingDirectory=/opt/agent
EnvironmentFile=/etc/agent/env
EnvironmentFile=-/etc/agent/optional.env
Environment="MODE=prod x" PORT=8080
ExecStartPre=/opt/agent/pre.sh
ExecStart=/opt/agent/server --port 8080

[Install]
WantedBy=multi-user.target
UNIT
  ln -s /etc/systemd/system/agent.service "$r"/etc/systemd/system/multi-user.target.wants/agent.service
  printf 'root:x:0:0:root:/root:/bin/sh\nagent:x:4242:4242::/opt/agent:/bin/sh\n' >"$r"/etc/passwd
  printf 'root:x:0:\nagent:x:4242:\n' >"$r"/etc/group
  printf '# agent settings\nSESSION_ID="s3cr3t value"\nPROXY=http://proxy\n' >"$r"/etc/agent/env
  printf 'PATH=/usr/bin:/bin\n' >"$r"/etc/environment
}

# mkimg DIR IMAGE: an ext4 image of DIR, every entry owned by root (mke2fs
# copies the caller's uid otherwise).
mkimg() {
  mke2fs -q -F -t ext4 -d "$1" "$2" 32M >/dev/null 2>&1 || fail "mke2fs -d $1 failed"
  if [ "$(id -u)" -ne 0 ]; then
    (cd "$1" && find . -mindepth 1 | sed 's|^\.||' | while read -r p; do
      printf 'sif "%s" uid 0\nsif "%s" gid 0\n' "$p" "$p"; done) >"$T/own.cmds"
    debugfs -w -f "$T/own.cmds" "$2" >/dev/null 2>&1
  fi
}

# sif IMAGE PATH FIELD VALUE: change one inode field in the image.
sif() { debugfs -w -R "sif \"$2\" $3 $4" "$1" >/dev/null 2>&1 || fail "debugfs sif $*"; }

# error_codes FILE: the sorted, comma-joined error codes of check's output.
error_codes() { jq -r 'select(.severity == "error") | .code' "$1" | sort -u | paste -sd, -; }

# has EXPR [FILE]: some JSON line of FILE (default: the last stdout) makes EXPR true.
has() { jq -s -e "any(.[]; $1)" "${2:-$OUT}" >/dev/null; }
