# Images that must not be edited: locked (in use), corrupted, not ext4,
# needing journal recovery, named as a golden.
. "$(dirname "$0")/agent-inject-lib.sh"

img="$T/img.ext4"; mkimg ext4 "$img"
before=$(sha256sum <"$img")

# In use: another process holds the image lock.
flock "$img" sleep 5 &
holder=$!
sleep 0.3
expect_rc 2 "$AI" --image "$img" --env A=1
grep -q 'in use' "$T/err" || fail "locked: message: $(cat "$T/err")"
kill "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true
[ "$(sha256sum <"$img")" = "$before" ] || fail "locked: image changed"
echo "ok: locked"

# Corrupted: the primary superblock zeroed.
for f in ext4 ext4-1k; do
  bad="$T/bad-$f.ext4"; mkimg "$f" "$bad" 32M
  dd if=/dev/zero of="$bad" bs=1024 seek=1 count=1 conv=notrunc status=none
  b=$(sha256sum <"$bad")
  expect_rc 1 "$AI" --image "$bad" --env A=1
  grep -qi 'superblock' "$T/err" || fail "corrupt $f: no libext2fs reason: $(cat "$T/err")"
  [ "$(sha256sum <"$bad")" = "$b" ] || fail "corrupt $f: image changed"
  echo "ok: corrupted $f"
done

# Not an ext filesystem at all.
head -c 1048576 /dev/urandom >"$T/random.img"
expect_rc 2 "$AI" --image "$T/random.img" --env A=1
grep -q 'not an ext2/ext3/ext4' "$T/err" || fail "random: $(cat "$T/err")"
echo "ok: not ext4"

# Journal needs recovery.
rec="$T/rec.ext4"; mkimg ext4 "$rec"
debugfs -w -R "feature needs_recovery" "$rec" >/dev/null 2>&1
b=$(sha256sum <"$rec")
expect_rc 2 "$AI" --image "$rec" --env A=1
grep -q 'e2fsck -fy' "$T/err" || fail "needs_recovery: $(cat "$T/err")"
[ "$(sha256sum <"$rec")" = "$b" ] || fail "needs_recovery: image changed"
echo "ok: needs_recovery"

# A golden named by a record in the state folder.
mkdir -p "$VMUTILS_STATE_DIR/vms/vm-golden1"
jq -nc --arg g "$img" '{v:1,id:"vm-golden1",created:"2026-01-01T00:00:00Z",rootfs:{path:"/nonexistent",golden:$g}}' \
  >"$VMUTILS_STATE_DIR/vms/vm-golden1/record.json"
expect_rc 2 "$AI" --image "$img" --env A=1
grep -q 'golden' "$T/err" || fail "golden: $(cat "$T/err")"
[ "$(sha256sum <"$img")" = "$before" ] || fail "golden: image changed"
echo "ok: golden"
