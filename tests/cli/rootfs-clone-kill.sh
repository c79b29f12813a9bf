#!/usr/bin/env bash
# Without fsync, a partial clone must still never appear as rootfs.ext4:
# SIGKILL mid-copy leaves at most the (unlocked) temporary file, which the
# next run for the VM removes; SIGINT with --sync exits 130 leaving nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
root="$T/root"
mkdir -p "$root/etc"
head -c 400M /dev/urandom >"$root/blob"
echo x >"$root/etc/machine-id"
G="$T/golden.ext4"
mke2fs -q -F -t ext4 -d "$root" "$G" 512M >/dev/null 2>&1 || fail "mke2fs"
rm -rf "$root"
clone_one 0 vm-warm --golden "$G" --keep-machine-id # hashes and caches the digest

# start_and_signal SIG ID ARGS...: start a clone, signal it once its
# temporary file exists; sets $rc.
start_and_signal() {
  local sig=$1 id=$2
  shift 2
  rec "$id" >"$T/in.$id"
  rootfs-clone --golden "$G" --method copy "$@" <"$T/in.$id" >"$OUT" 2>"$ERR" &
  local pid=$!
  for _ in $(seq 2000); do
    compgen -G "$S/vms/$id/.rootfs.ext4.tmp.*" >/dev/null && break
    sleep 0.005
  done
  kill "-$sig" $pid
  rc=0
  wait $pid || rc=$?
}

start_and_signal KILL vm-k1
[ "$rc" = 0 ] && skip "the copy finished before SIGKILL arrived (machine too fast)"
[ "$rc" = 137 ] || fail "exited $rc after SIGKILL, expected 137"
[ ! -e "$S/vms/vm-k1/rootfs.ext4" ] || fail "SIGKILL left a rootfs.ext4"
# The next run cleans up the dead run's temporary file and clones.
clone_one 0 vm-k1 --golden "$G" --method copy
[ -f "$S/vms/vm-k1/rootfs.ext4" ] || fail "re-run made no clone"
no_temps "$S/vms/vm-k1"
fsck_clean "$S/vms/vm-k1/rootfs.ext4"

start_and_signal INT vm-k2 --sync
[ "$rc" = 0 ] && skip "the --sync copy finished before SIGINT arrived (machine too fast)"
[ "$rc" = 130 ] || { cat "$ERR" >&2; fail "--sync: exited $rc after SIGINT, expected 130"; }
[ ! -e "$S/vms/vm-k2/rootfs.ext4" ] || fail "--sync: SIGINT left a rootfs.ext4"
no_temps "$S/vms/vm-k2"
pass "SIGKILL/SIGINT mid-clone: no rootfs.ext4; the next run cleans up"
