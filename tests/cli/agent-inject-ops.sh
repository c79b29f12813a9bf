# Every operation on every image flavour, read back with debugfs, fsck-clean,
# and idempotent: a second identical run gives the same contents, modes, owners.
. "$(dirname "$0")/agent-inject-lib.sh"

head -c 200000 /dev/urandom >"$T/server"; chmod 0700 "$T/server"
mkdir -p "$T/tree/sub"; echo a >"$T/tree/a.txt"; echo b >"$T/tree/sub/b.sh"; chmod 0755 "$T/tree/sub/b.sh"
ln -s a.txt "$T/tree/link"
cat >"$T/vm-agent.service" <<'U'
[Unit]
Description=agent
[Service]
ExecStart=/opt/agent/server
EnvironmentFile=/etc/environment
[Install]
WantedBy=multi-user.target
RequiredBy=network-online.target
Alias=agent.service
U
printf '# comment\nFROM_FILE=1\nexport OTHER=two\n' >"$T/env.list"
long_target=/opt/agent/$(printf 'x%.0s' $(seq 1 80))

run() {
  TOKEN=secret-token "$AI" --image "$1" \
    --copy "$T/server:/opt/agent/server:0755:1000:1000" \
    --copy "$T/tree:/srv/tree" \
    --copy "$T/server:/opt/agent/bin/" \
    --mkdir /var/lib/agent:0700 \
    --symlink /opt/agent/server:/usr/bin/agent \
    --symlink "$long_target:/usr/bin/long" \
    --unit "$T/vm-agent.service" \
    --env SESSION_ID=new --env TOKEN --env-file "$T/env.list"
}

# snapshot IMAGE : contents, modes and owners of everything injected.
snapshot() {
  for p in /opt/agent/server /opt/agent/bin/server /srv/tree /srv/tree/a.txt /srv/tree/sub/b.sh \
           /srv/tree/link /var/lib/agent /usr/bin/agent /usr/bin/long /etc/environment \
           /etc/systemd/system/vm-agent.service \
           /etc/systemd/system/multi-user.target.wants/vm-agent.service \
           /etc/systemd/system/network-online.target.requires/vm-agent.service \
           /etc/systemd/system/agent.service; do
    echo "$p $(stat_line "$1" "$p")"
    dbg "$1" "cat $p" | sha256sum
  done
  dbg "$1" "stat /usr/bin/agent" | grep -i 'fast link dest'
}

for f in "${FLAVOURS[@]}"; do
  img="$T/$f.ext4"
  mkimg "$f" "$img"
  run "$img" >"$T/agent.json" 2>"$T/err" || { cat "$T/err" >&2; fail "$f: first run"; }
  fsck_clean "$img"
  # The agent section, as DESIGN.md shows it.
  jq -e '.files[0] == {"path":"/opt/agent/server","mode":"0755","uid":1000,"gid":1000,"size":200000,"sha256":"'"$(sha256sum <"$T/server" | cut -d' ' -f1)"'"}' "$T/agent.json" >/dev/null \
    || fail "$f: files[0] is $(jq -c .files[0] "$T/agent.json")"
  jq -e '.units == [{"name":"vm-agent.service","enabled_in":["multi-user.target.wants","network-online.target.requires"]}]' "$T/agent.json" >/dev/null || fail "$f: units"
  jq -e '.env_file == "/etc/environment" and .env_keys == ["FROM_FILE","OTHER","SESSION_ID","TOKEN"]' "$T/agent.json" >/dev/null || fail "$f: env"
  grep -q secret-token "$T/agent.json" "$T/err" && fail "$f: an env value leaked"
  # Read back.
  dbg "$img" "dump /opt/agent/server $T/back"; cmp -s "$T/back" "$T/server" || fail "$f: server differs"
  [ "$(stat_line "$img" /opt/agent/server)" = "0755 1000 1000 200000" ] || fail "$f: server stat $(stat_line "$img" /opt/agent/server)"
  [ "$(stat_line "$img" /opt/agent/bin/server)" = "0700 0 0 200000" ] || fail "$f: DEST/ copy keeps the host mode"
  [ "$(stat_line "$img" /var/lib/agent | cut -d' ' -f1-3)" = "0700 0 0" ] || fail "$f: mkdir mode"
  [ "$(dbg "$img" 'cat /srv/tree/sub/b.sh')" = b ] || fail "$f: tree copy"
  [ "$(stat_line "$img" /srv/tree/sub/b.sh | cut -d' ' -f1)" = 0755 ] || fail "$f: tree mode"
  dbg "$img" "stat /srv/tree/link" | grep -q 'Fast link dest: "a.txt"' || fail "$f: tree symlink"
  dbg "$img" "stat /usr/bin/agent" | grep -q 'Fast link dest: "/opt/agent/server"' || fail "$f: symlink"
  dbg "$img" "stat /usr/bin/long" | grep -q "Type: symlink" || fail "$f: long symlink"
  dbg "$img" "stat /etc/systemd/system/multi-user.target.wants/vm-agent.service" \
    | grep -q 'Fast link dest: "/etc/systemd/system/vm-agent.service"' || fail "$f: WantedBy link"
  dbg "$img" "stat /etc/systemd/system/agent.service" | grep -q "Type: symlink" || fail "$f: Alias link"
  cmp -s <(dbg "$img" "cat /etc/systemd/system/vm-agent.service") "$T/vm-agent.service" || fail "$f: unit contents"
  env_now=$(dbg "$img" "cat /etc/environment")
  [ "$env_now" = "$(printf 'PATH=/usr/local/bin:/usr/bin:/bin\nSESSION_ID=new\nLANG=C.UTF-8\nFROM_FILE=1\nOTHER=two\nTOKEN=secret-token')" ] \
    || fail "$f: /etc/environment is: $env_now"
  # It holds secrets: root's only (the golden's was 0640).
  [ "$(stat_line "$img" /etc/environment | cut -d' ' -f1)" = 0600 ] || fail "$f: env mode not 0600"
  # Idempotent.
  snapshot "$img" >"$T/snap1"
  run "$img" >"$T/agent2.json" 2>"$T/err" || { cat "$T/err" >&2; fail "$f: second run"; }
  fsck_clean "$img"
  snapshot "$img" >"$T/snap2"
  diff "$T/snap1" "$T/snap2" >&2 || fail "$f: the second run changed the image"
  cmp -s "$T/agent.json" "$T/agent2.json" || fail "$f: the second run's record differs"
  echo "ok: $f"
done

# A new env target is created 0600.
img="$T/env.ext4"; mkimg ext4 "$img"
"$AI" --image "$img" --env A=1 --env-target /etc/agent/env >/dev/null 2>"$T/err" || { cat "$T/err"; fail "env target"; }
[ "$(stat_line "$img" /etc/agent/env | cut -d' ' -f1)" = 0600 ] || fail "new env target mode"
[ "$(dbg "$img" 'cat /etc/agent/env')" = "A=1" ] || fail "new env target contents"
fsck_clean "$img"
