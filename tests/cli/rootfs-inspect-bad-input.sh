#!/usr/bin/env bash
# Usage errors exit 2 with a message on stderr and nothing on stdout; an
# image in use by a running VM (lock held, journal needing recovery) is
# still readable, and never changed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-inspect-common.sh"

layout_clean "$T/root"
mkimg "$T/root" "$T/img.ext4"
I="$T/img.ext4"

expect_rc 2 rootfs-inspect
expect_rc 2 rootfs-inspect frobnicate "$I"
expect_rc 2 rootfs-inspect ls
expect_rc 2 rootfs-inspect check "$I"
stderr_has "--unit"
expect_rc 2 rootfs-inspect check "$I" --unit 'bad name!'
stderr_has "not a unit name"
expect_rc 2 rootfs-inspect check "$I" --unit agent --require-env 1BAD
stderr_has "1BAD"
[ ! -s "$OUT" ] || fail "stdout on a usage error"
expect_rc 2 rootfs-inspect ls "$T/missing.ext4"
stderr_has "missing.ext4"
head -c 1048576 /dev/urandom >"$T/junk"
expect_rc 2 rootfs-inspect ls "$T/junk"
stderr_has "not an ext2/ext3/ext4"
expect_rc 2 rootfs-inspect ls "$I" relative/path
stderr_has "not absolute"
expect_rc 2 rootfs-inspect diff "$I" "$T/junk"

# A running VM's image: its lock is held and its journal needs recovery.
debugfs -w -R "feature needs_recovery" "$I" >/dev/null 2>&1
before=$(sha256sum <"$I")
if command -v flock >/dev/null; then
  expect_rc 0 flock -x "$I" rootfs-inspect check "$I" --unit agent --require-env SESSION_ID
else
  expect_rc 0 rootfs-inspect check "$I" --unit agent --require-env SESSION_ID
fi
expect_rc 0 rootfs-inspect cat "$I" /etc/passwd
stdout_has "agent:x:4242"
[ "$(sha256sum <"$I")" = "$before" ] || fail "reading changed the image"
pass "bad input, and an image in use"
