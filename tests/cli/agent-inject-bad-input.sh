# Every bad input exits 2 and leaves the image byte-identical.
. "$(dirname "$0")/agent-inject-lib.sh"

echo hi >"$T/f"
mkdir -p "$T/d"
printf '{"copy":[{"src":"f","dest":"/x"}],"bogus":1}\n' >"$T/unknown-key.json"
printf '{"copy":[{"src":"f","dest":"/x"' >"$T/truncated.json"
printf '{"copy":[{"src":"f","dest":"/x","mode":755}]}\n' >"$T/numeric-mode.json"
printf '{"copy":[{"src":"f","dest":"relative/x"}]}\n' >"$T/relative.json"
printf '{"mkdir":[{"path":"/a/../b"}]}\n' >"$T/dotdot.json"
printf '[Install]\nWantedBy=../../etc/evil\n' >"$T/evil.service"
printf 'not a key line\n' >"$T/bad.env"
unset NOT_SET_ANYWHERE || true

cases=(
  "--spec $T/unknown-key.json"
  "--spec $T/truncated.json"
  "--spec $T/numeric-mode.json"
  "--spec $T/relative.json"
  "--spec $T/dotdot.json"
  "--spec $T/missing.json"
  "--copy $T/f:/x:0999"
  "--copy $T/f:/x:75555"
  "--copy $T/f:/x:0755:root:0"
  "--copy $T/f"
  "--copy $T/missing:/x"
  "--copy $T/f:relative/x"
  "--copy $T/f:/etc/../x"
  "--copy $T/f:/etc"
  "--copy $T/d:/etc/hostname"
  "--mkdir /etc/hostname"
  "--mkdir etc/x"
  "--mkdir /x:abc"
  "--symlink /x:/etc/hostname"
  "--symlink /x:rel"
  "--symlink /x:/a/../b"
  "--unit $T/missing.service"
  "--unit $T/f"
  "--unit $T/evil.service"
  "--env 1BAD=x"
  "--env NOT_SET_ANYWHERE"
  "--env-file $T/bad.env"
  "--env-file $T/missing.env"
  "--env A=1 --env-target relative"
  "--env A=1 --env-target /etc"
  "--copy $T/f:/ok --copy $T/missing:/x"
  ""
)
for f in ext4 ext4-inline; do
  img="$T/$f.ext4"
  mkimg "$f" "$img"
  before=$(sha256sum <"$img")
  for c in "${cases[@]}"; do
    # shellcheck disable=SC2086
    expect_rc 2 "$AI" --image "$img" $c
    [ "$(sha256sum <"$img")" = "$before" ] || fail "$f: '$c' changed the image"
    grep -q 'agent-inject: error:' "$T/err" || fail "$f: '$c' printed no error"
  done
  # --image together with --id is a usage error.
  expect_rc 2 "$AI" --image "$img" --id vm-1 --mkdir /x
  [ "$(sha256sum <"$img")" = "$before" ] || fail "$f: --image --id changed the image"
  fsck_clean "$img"
  echo "ok: $f"
done
