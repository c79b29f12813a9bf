#!/usr/bin/env bash
# diff of two images that differ in known ways: exactly those differences,
# with the fields that changed, digests for a same-size content change, in
# JSON Lines; --path narrows; identical images give nothing.
. "$(dirname "$0")/lib.sh"
need_cmd mke2fs
need_cmd debugfs
need_cmd jq
has() { jq -s -e "any(.[]; $1)" "$OUT" >/dev/null; }

a="$T/a" b="$T/b"
mkdir -p "$a/etc" "$a/opt/agent" "$a/gone/deep" "$a/var"
printf 'SESSION_ID=x\n' >"$a/etc/environment"
printf 'AAAA' >"$a/opt/agent/same-size"
printf 'short' >"$a/opt/agent/grows"
printf '#!/bin/sh\n' >"$a/opt/agent/run"
chmod 0644 "$a/opt/agent/run"
printf 'x' >"$a/opt/agent/owned"
printf 'bye' >"$a/gone/deep/f"
printf 'f' >"$a/var/kind"
ln -s /opt/agent/run "$a/opt/agent/link"
head -c 2000000 /dev/urandom >"$a/opt/agent/big"
cp -a "$a" "$b"
rm -r "$b/gone"                               # removed (with its contents)
mkdir -p "$b/new/sub" && printf 'n' >"$b/new/sub/file"   # added (with contents)
printf 'AAAB' >"$b/opt/agent/same-size"       # content, same size
printf 'longer' >"$b/opt/agent/grows"         # size
chmod 0755 "$b/opt/agent/run"                  # mode
ln -sfn /opt/agent/other "$b/opt/agent/link"   # symlink target
rm "$b/var/kind" && mkdir "$b/var/kind"        # type
mke2fs -q -F -t ext4 -d "$a" "$T/a.ext4" 32M >/dev/null 2>&1 || fail "mke2fs a"
mke2fs -q -F -t ext4 -d "$b" "$T/b.ext4" 32M >/dev/null 2>&1 || fail "mke2fs b"
debugfs -w -R 'sif /opt/agent/owned uid 4242' "$T/b.ext4" >/dev/null 2>&1   # owner

expect_rc 0 rootfs-inspect diff "$T/a.ext4" "$T/b.ext4"
got=$(jq -r '"\(.change) \(.path) \(.fields | join(","))"' "$OUT" | sort)
want=$(sort <<'WANT'
removed /gone 
removed /gone/deep 
removed /gone/deep/f 
added /new 
added /new/sub 
added /new/sub/file 
changed /opt/agent/same-size content
changed /opt/agent/grows size
changed /opt/agent/run mode
changed /opt/agent/link target
changed /opt/agent/owned uid
changed /var/kind type
WANT
)
[ "$got" = "$want" ] || fail "diff found:"$'\n'"$got"$'\n'"expected:"$'\n'"$want"
sa=$(printf 'AAAA' | sha256sum | cut -d' ' -f1)
sb=$(printf 'AAAB' | sha256sum | cut -d' ' -f1)
has ".path == \"/opt/agent/same-size\" and .a.sha256 == \"$sa\" and .b.sha256 == \"$sb\"" ||
  fail "content digests: $(grep same-size "$OUT")"
has '.path == "/opt/agent/run" and .a.mode == "0644" and .b.mode == "0755"' || fail "mode values"
has '.path == "/opt/agent/owned" and .a.uid == 0 and .b.uid == 4242' || fail "owner values"
has '.path == "/opt/agent/link" and .a.target == "/opt/agent/run" and .b.target == "/opt/agent/other"' ||
  fail "target values"
has '.path == "/gone" and .a.type == "directory" and (has("b") | not)' || fail "removed has only a"
has '.path == "/var/kind" and .a.type == "file" and .b.type == "directory"' || fail "type values"
# Sizes decide without reading: only the same-size files were read.
stderr_has "12 differences"

# --path narrows (repeatable; a prefix inside another is not reported twice).
expect_rc 0 rootfs-inspect diff "$T/a.ext4" "$T/b.ext4" --path /opt/agent/ --path /opt/agent/run --path /new
[ "$(jq -r .path "$OUT" | sort | paste -sd, -)" = \
  "/new,/new/sub,/new/sub/file,/opt/agent/grows,/opt/agent/link,/opt/agent/owned,/opt/agent/run,/opt/agent/same-size" ] ||
  fail "--path: $(jq -r .path "$OUT" | paste -sd, -)"
expect_rc 2 rootfs-inspect diff "$T/a.ext4" "$T/b.ext4" --path /nowhere
stderr_has "/nowhere"

# An image against itself, and against a byte copy: nothing.
cp "$T/a.ext4" "$T/a2.ext4"
expect_rc 0 rootfs-inspect diff "$T/a.ext4" "$T/a2.ext4"
[ ! -s "$OUT" ] || fail "identical images differ: $(cat "$OUT")"
stderr_has "0 differences"
# Limits: a clear error, exit 5.
expect_rc 5 rootfs-inspect diff --max-entries 5 "$T/a.ext4" "$T/b.ext4"
stderr_has "--max-entries"
pass "diff: added, removed, mode, owner, content, size, target, type"
