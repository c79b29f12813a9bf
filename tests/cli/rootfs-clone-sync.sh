#!/usr/bin/env bash
# Durability: by default the clone is not fsynced (record: "synced": false,
# "boot_id" of this boot); --sync fsyncs it before the rename ("synced":
# true). Both clones are e2fsck-clean with the derived machine-id. With
# strace, check the fsyncs themselves: none on the clone by default (neither
# ours nor libext2fs's), some with --sync.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
G="$T/golden.ext4"
make_golden "$G" 48M
boot=$(cat /proc/sys/kernel/random/boot_id)

clone_one 0 vm-ns --golden "$G" --method copy
jq -e '.rootfs.synced == false' "$OUT" >/dev/null || fail "default clone not synced:false: $(cat "$OUT")"
[ "$(jq -r .rootfs.boot_id "$OUT")" = "$boot" ] || fail "boot_id $(jq -r .rootfs.boot_id "$OUT"), want $boot"
C="$S/vms/vm-ns/rootfs.ext4"
fsck_clean "$C"
[ "$(dbg "$C" 'cat /etc/machine-id')" = "$(derived_id vm-ns)" ] || fail "machine-id (no sync)"

clone_one 0 vm-s --golden "$G" --method copy --sync
jq -e '.rootfs.synced == true' "$OUT" >/dev/null || fail "--sync clone not synced:true: $(cat "$OUT")"
[ "$(jq -r .rootfs.boot_id "$OUT")" = "$boot" ] || fail "boot_id with --sync"
C="$S/vms/vm-s/rootfs.ext4"
fsck_clean "$C"
[ "$(dbg "$C" 'cat /etc/machine-id')" = "$(derived_id vm-s)" ] || fail "machine-id (--sync)"

# --force re-clone without --sync replaces a synced clone and says so.
expect_rc 0 rootfs-clone --id vm-s --force --golden "$G"
jq -e '.rootfs.synced == false' "$OUT" >/dev/null || fail "re-clone not synced:false"
fsck_clean "$C"

# The fsyncs themselves need strace (scripts/install-deps installs it): a
# run that cannot check them is a skip, which CI counts as a failure.
need_cmd strace
# fsyncs SYSCALLS-FILE: the fsync/fdatasync calls on the temporary clone.
clone_fsyncs() { grep -E 'f(data)?sync\([0-9]+</[^>]*\.rootfs\.ext4\.tmp\.' "$1" | grep -c . || true; }
rec vm-t1 >"$T/in.t1"
strace -f -y -e trace=fsync,fdatasync,syncfs,sync -o "$T/st1" rootfs-clone --golden "$G" --method copy \
  <"$T/in.t1" >"$OUT" 2>"$ERR" || { cat "$ERR" >&2; fail "clone under strace failed"; }
n=$(clone_fsyncs "$T/st1")
[ "$n" = 0 ] || { grep -i sync "$T/st1" >&2; fail "default clone: $n fsync calls on the clone"; }
! grep -qE '(^|[^a-z_])(syncfs|sync)\(' "$T/st1" || fail "default clone called sync/syncfs"
rec vm-t2 >"$T/in.t2"
strace -f -y -e trace=fsync,fdatasync -o "$T/st2" rootfs-clone --golden "$G" --method copy --sync \
  <"$T/in.t2" >"$OUT" 2>"$ERR" || { cat "$ERR" >&2; fail "--sync clone under strace failed"; }
n=$(clone_fsyncs "$T/st2")
[ "$n" -ge 1 ] || { cat "$T/st2" >&2; fail "--sync clone: no fsync on the clone"; }
grep -qE 'fsync\([0-9]+</[^>]*/vms/vm-t2>\)' "$T/st2" || fail "--sync: the VM folder was not synced"
pass "no fsync by default, fsync with --sync; record says synced/boot_id; clones clean"
