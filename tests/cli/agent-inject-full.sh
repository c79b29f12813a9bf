# A file that does not fit: exit 5 with needed and free space; the image is
# unchanged and fsck-clean. Also: too few inodes.
. "$(dirname "$0")/agent-inject-lib.sh"

head -c $((20 * 1024 * 1024)) /dev/urandom >"$T/big"
for f in ext4 ext4-inline ext2; do
  img="$T/$f.ext4"
  mkimg "$f" "$img" 16M
  before=$(sha256sum <"$img")
  expect_rc 5 "$AI" --image "$img" --copy "$T/big:/opt/big" --env A=1
  grep -q 'needs about .* and has .* free' "$T/err" || fail "$f: message lacks needed/free: $(cat "$T/err")"
  [ "$(sha256sum <"$img")" = "$before" ] || fail "$f: image changed"
  fsck_clean "$img"
  echo "ok: $f"
done
# Inodes: a folder of more files than the image has inodes.
mkdir -p "$T/many"; for i in $(seq 1 300); do : >"$T/many/f$i"; done
img="$T/inodes.ext4"
mke2fs -q -F -t ext4 -N 64 -d "$T/root" "$img" 16M >/dev/null 2>&1
before=$(sha256sum <"$img")
expect_rc 5 "$AI" --image "$img" --copy "$T/many:/many"
grep -q 'inodes' "$T/err" || fail "inodes: message"
[ "$(sha256sum <"$img")" = "$before" ] || fail "inodes: image changed"
fsck_clean "$img"
echo "ok: inodes"
