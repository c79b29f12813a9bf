#!/usr/bin/env bash
# ls, cat and stat: symlink chains resolved inside the image (absolute
# targets start at the image's root), a loop is a clear error (exit 4, no
# hang), JSON Lines off a terminal, raw bytes from cat.
. "$(dirname "$0")/lib.sh"
need_cmd mke2fs
need_cmd jq
has() { jq -s -e "any(.[]; $1)" "$OUT" >/dev/null; }

r="$T/root"
mkdir -p "$r/etc" "$r/data/sub" "$r/loop"
printf 'hello\n' >"$r/data/file"
head -c 3000000 /dev/urandom >"$r/data/big.bin"
chmod 0640 "$r/data/file"
ln -s /data/file "$r/etc/one"          # absolute: resolved in the image
ln -s one "$r/etc/two"                 # relative chain
ln -s ../../etc/two "$r/data/sub/three"
ln -s /../../../data "$r/escape"       # '..' at the root stays at the root
ln -s a "$r/loop/b"
ln -s b "$r/loop/a"
ln -s /nowhere "$r/dangling"
mke2fs -q -F -t ext4 -d "$r" "$T/img.ext4" 32M >/dev/null 2>&1 || fail "mke2fs"
I="$T/img.ext4"

expect_rc 0 rootfs-inspect cat "$I" /data/sub/three
[ "$(cat "$OUT")" = hello ] || fail "cat through a chain: $(cat "$OUT")"
expect_rc 0 rootfs-inspect cat "$I" /escape/file
[ "$(cat "$OUT")" = hello ] || fail "cat through /../..: $(cat "$OUT")"
expect_rc 0 rootfs-inspect cat "$I" /data/big.bin
cmp -s "$OUT" "$r/data/big.bin" || fail "cat of a 3 MB file differs"

# A loop: exit 4, quickly, naming the path.
start=$(date +%s)
expect_rc 4 timeout 20 rootfs-inspect cat "$I" /loop/a
[ $(($(date +%s) - start)) -lt 10 ] || fail "the loop took too long"
stderr_has "symlink"
stderr_has "/loop/a"
[ ! -s "$OUT" ] || fail "cat of a loop wrote to stdout"
expect_rc 4 rootfs-inspect ls "$I" /loop/a/x
stderr_has "symlink loop"
expect_rc 2 rootfs-inspect cat "$I" /dangling
stderr_has "no such file"
expect_rc 2 rootfs-inspect cat "$I" /data
stderr_has "not a file"

# ls: JSON Lines, one per entry, sorted; symlinks shown with their target.
expect_rc 0 rootfs-inspect ls "$I" /etc
[ "$(jq -r .path "$OUT" | paste -sd, -)" = "/etc/one,/etc/two" ] || fail "ls /etc: $(cat "$OUT")"
has '.path == "/etc/one" and .type == "symlink" and .target == "/data/file"' || fail "ls target"
# ls of a symlinked folder lists the folder; -l gives mode and owner.
expect_rc 0 rootfs-inspect ls -l "$I" /escape
has '.path == "/escape/file" and .mode == "0640" and .size == 6 and .type == "file"' || fail "ls -l: $(cat "$OUT")"
# -R walks sub-folders without following symlinks (the loop is listed, not entered).
expect_rc 0 rootfs-inspect ls -R "$I" /
has '.path == "/data/sub/three"' || fail "ls -R"
has '.path == "/loop/a" and .type == "symlink"' || fail "ls -R loop entry"
[ "$(jq -r .path "$OUT" | grep -c '^/loop/')" = 2 ] || fail "ls -R entered the loop"
expect_rc 5 rootfs-inspect ls -R --max-entries 3 "$I" /
stderr_has "--max-entries"
expect_rc 0 rootfs-inspect ls "$I" /dangling
has '.path == "/dangling" and .target == "/nowhere"' || fail "ls of a dangling link"

# stat: the link itself, or with -L what it points to.
expect_rc 0 rootfs-inspect stat "$I" /etc/two
has '.type == "symlink" and .target == "one"' || fail "stat: $(cat "$OUT")"
expect_rc 0 rootfs-inspect stat -L "$I" /etc/two
has '.type == "file" and .mode == "0640" and .size == 6' || fail "stat -L: $(cat "$OUT")"
expect_rc 2 rootfs-inspect stat "$I" /missing
stderr_has "no such entry"
pass "ls, cat, stat with symlink chains and a loop"
