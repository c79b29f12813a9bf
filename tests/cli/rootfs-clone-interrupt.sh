#!/usr/bin/env bash
# SIGINT in the middle of the copy: exit 130, no rootfs.ext4, no temporary
# file; the record says "interrupted".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
root="$T/root"
mkdir -p "$root/etc"
head -c 400M /dev/urandom >"$root/blob"
G="$T/golden.ext4"
mke2fs -q -F -t ext4 -d "$root" "$G" 512M >/dev/null 2>&1 || fail "mke2fs"
rm -rf "$root"
clone_one 0 vm-warm --golden "$G" --keep-machine-id   # hashes and caches the digest
rec vm-i1 >"$T/in"
rootfs-clone --golden "$G" --method copy <"$T/in" >"$OUT" 2>"$ERR" &
pid=$!
# Interrupt as soon as the temporary clone exists, i.e. during the copy.
for _ in $(seq 2000); do
  compgen -G "$S/vms/vm-i1/.rootfs.ext4.tmp.*" >/dev/null && break
  sleep 0.005
done
kill -INT $pid
rc=0
wait $pid || rc=$?
if [ "$rc" = 0 ]; then skip "the copy finished before the signal arrived (machine too fast)"; fi
[ "$rc" = 130 ] || { cat "$ERR" >&2; fail "exited $rc, expected 130"; }
stderr_has "interrupted"
[ ! -e "$S/vms/vm-i1/rootfs.ext4" ] || fail "partial rootfs.ext4 left"
no_temps "$S/vms/vm-i1"
jq -e '.error.code == 130' "$OUT" >/dev/null || fail "record lacks the error: $(cat "$OUT")"
pass "SIGINT: 130, nothing left"
