# agent-inject: a NUL byte in --env-file is refused like in --env; a
# template's DefaultInstance=../../x cannot make a link outside *.wants/;
# the env target ends 0600 root:root (or --env-mode); SIGINT during an
# --image run stops it before anything is written (exit 130, image
# byte-identical, nothing on stdout) or, once writing, lets the write finish
# and says so (exit 0, fsck clean) -- never success printed with exit 130.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/harden-common.sh"

G="$T/golden.ext4"
small_golden "$G"
cp "$G" "$T/img.ext4"
sum=$(sha256sum <"$T/img.ext4")

printf 'A=1\nB=x\0y\n' >"$T/nul.env"
expect_rc 2 agent-inject --image "$T/img.ext4" --env-file "$T/nul.env"
stderr_has "line 2"
stderr_has "NUL"
[ "$(sha256sum <"$T/img.ext4")" = "$sum" ] || fail "a NUL env file was written"
pass "--env-file with a NUL byte is refused"

printf '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\nDefaultInstance=../../x\n' >"$T/t@.service"
expect_rc 2 agent-inject --image "$T/img.ext4" --unit "$T/t@.service"
stderr_has "DefaultInstance='../../x' is not a valid instance name"
[ "$(sha256sum <"$T/img.ext4")" = "$sum" ] || fail "a bad template was written"
pass "DefaultInstance=../../x is refused"

expect_rc 0 agent-inject --image "$T/img.ext4" --env K=v
stderr_has "now 0600 root:root"
debugfs -R "stat /etc/environment" "$T/img.ext4" 2>/dev/null | grep -q "Mode:  0600" || fail "env target not 0600"
jq -e '.env_mode == "0600"' "$OUT" >/dev/null || fail "agent section lacks env_mode: $(cat "$OUT")"
expect_rc 0 agent-inject --image "$T/img.ext4" --env K=w --env-mode 0640
debugfs -R "stat /etc/environment" "$T/img.ext4" 2>/dev/null | grep -q "Mode:  0640" || fail "--env-mode 0640"
pass "the env target is 0600 root:root unless --env-mode"

# SIGINT at several moments of a run that writes 40 MiB.
head -c 40M /dev/urandom >"$T/big"
mke2fs -q -F -t ext4 "$T/big.ext4" 128M >/dev/null 2>&1 || fail mke2fs
for delay in 0.01 0.05 0.2 0.4 0.8; do
  cp "$T/big.ext4" "$T/run.ext4"
  before=$(sha256sum <"$T/run.ext4")
  agent-inject --image "$T/run.ext4" --copy "$T/big:/opt/big" >"$OUT" 2>"$ERR" &
  pid=$!
  sleep "$delay"
  kill -INT $pid 2>/dev/null || true
  rc=0
  wait $pid || rc=$?
  case $rc in
    130)
      [ "$(sha256sum <"$T/run.ext4")" = "$before" ] || fail "delay $delay: exit 130 but the image changed"
      [ ! -s "$OUT" ] || fail "delay $delay: exit 130 after printing a result"
      ;;
    0)
      e2fsck -fn "$T/run.ext4" >/dev/null 2>&1 || fail "delay $delay: image not clean"
      jq -e '.files[0].path == "/opt/big"' "$OUT" >/dev/null || fail "delay $delay: no result"
      ;;
    *) cat "$ERR" >&2; fail "delay $delay: exit $rc" ;;
  esac
  echo "delay $delay: exit $rc"
done
pass "SIGINT never leaves a half-written image nor success with exit 130"
