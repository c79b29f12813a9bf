#!/usr/bin/env bash
# The golden's digest is hashed once and cached beside it (keyed by device,
# inode, size, mtime, ctime); the next clone reads the sidecar; a changed
# golden is hashed again; four concurrent clones on a cold cache hash once;
# a damaged sidecar is ignored.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
G="$T/golden.ext4"
SIDE="$G.vmutils-id.json"
make_golden "$G" 32M

clone_one 0 vm-c1 --golden "$G" -v
stderr_has "hashed the golden"
[ -f "$SIDE" ] || fail "no sidecar beside the golden"
[ "$(jq -r .sha256 "$SIDE")" = "$(sha256sum <"$G" | cut -c1-64)" ] || fail "sidecar digest wrong"
m1=$(stat -c %Y.%y "$SIDE")

clone_one 0 vm-c2 --golden "$G" -v
stderr_has "golden digest from cache '$SIDE'"
[ "$(stat -c %Y.%y "$SIDE")" = "$m1" ] || fail "sidecar rewritten on a cache hit"

# Same bytes, new mtime: the key no longer matches, so it is hashed again.
touch -d '2020-01-01 00:00:00' "$G"
clone_one 0 vm-c3 --golden "$G" -v
stderr_has "hashed the golden"

# A damaged sidecar is a miss, never an error.
echo '{not json' >"$SIDE"
clone_one 0 vm-c4 --golden "$G" -v
stderr_has "hashed the golden"
jq -e .sha256 "$SIDE" >/dev/null || fail "sidecar not rewritten"

# Four clones at once on a cold cache: one hashes, the others wait and read.
rm -f "$SIDE"
for i in 1 2 3 4; do rec "vm-cc$i"; done >"$T/four"
expect_rc 0 rootfs-clone --golden "$G" -v <"$T/four"
[ "$(grep -c 'hashed the golden' "$ERR")" = 1 ] || { cat "$ERR" >&2; fail "golden hashed more than once"; }
[ "$(grep -c 'golden digest from cache' "$ERR")" = 3 ] || fail "cache not used by the others"

# A golden folder we cannot write: the sidecar goes to <state>/cache.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
  rm -f "$SIDE"
  rec vm-c5 >"$T/in5"
  mkdir -p "$T/ro"
  mv "$G" "$T/ro/golden.ext4"
  G="$T/ro/golden.ext4"
  rc=0
  unshare -m sh -c "mount --bind '$T/ro' '$T/ro' && mount -o remount,bind,ro '$T/ro' &&
    rootfs-clone --golden '$G' -v <'$T/in5' >'$OUT' 2>'$ERR'" || rc=$?
  [ "$rc" = 0 ] || { cat "$ERR" >&2; fail "clone from a read-only folder exited $rc"; }
  [ ! -e "$G.vmutils-id.json" ] || fail "sidecar written into a read-only folder"
  ls "$S/cache/"golden.ext4.*.vmutils-id.json >/dev/null 2>&1 || fail "no sidecar in <state>/cache"
fi
pass "digest cached, reused, invalidated, hashed once under concurrency"
