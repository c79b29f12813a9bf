# Symlinks inside the image are resolved inside the image: an /etc that
# points "outside" (relative with many .., or absolute) cannot redirect a
# write to the host.
. "$(dirname "$0")/agent-inject-lib.sh"

sentinel="$T/host-side"
mkdir -p "$sentinel"
rel="../../../../../../../..$sentinel"

for kind in relative absolute loop; do
  rm -rf "$T/esc"; mkdir -p "$T/esc/real"
  case $kind in
    relative) ln -s "$rel" "$T/esc/etc"; want=$sentinel ;;
    absolute) ln -s "$sentinel" "$T/esc/etc"; want=$sentinel ;;
    loop) ln -s a "$T/esc/etc"; ln -s etc "$T/esc/a" ;;
  esac
  img="$T/$kind.ext4"
  mke2fs -q -F -t ext4 -d "$T/esc" "$img" 16M >/dev/null 2>&1 || fail "mke2fs"
  if [ "$kind" = loop ]; then
    before=$(sha256sum <"$img")
    expect_rc 4 "$AI" --image "$img" --env A=1
    grep -q 'symlink loop' "$T/err" || fail "loop: message: $(cat "$T/err")"
    [ "$(sha256sum <"$img")" = "$before" ] || fail "loop: image changed"
    echo "ok: $kind"
    continue
  fi
  "$AI" --image "$img" --env SESSION_ID=x --copy "$T/esc/real:/etc/real" >/dev/null 2>"$T/err" \
    || { cat "$T/err" >&2; fail "$kind: inject"; }
  fsck_clean "$img"
  [ -z "$(ls -A "$sentinel")" ] || fail "$kind: something was written on the host: $(ls -A "$sentinel")"
  # The write landed inside the image, where /etc leads when the image is the root.
  [ "$(dbg "$img" "cat $want/environment")" = "SESSION_ID=x" ] || fail "$kind: not at $want/environment inside the image"
  dbg "$img" "stat /etc" | grep -q "Type: symlink" || fail "$kind: /etc is no longer a symlink"
  echo "ok: $kind"
done
