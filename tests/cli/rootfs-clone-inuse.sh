#!/usr/bin/env bash
# An existing rootfs.ext4 is replaced only with --force, never while it is
# in use (its image lock held, as a running VM holds it); a golden whose lock
# is held exclusively (a VM booted from it, a writer) is not cloned.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
need_cmd flock
G="$T/golden.ext4"
make_golden "$G" 32M

clone_one 0 vm-u1 --golden "$G"
C="$S/vms/vm-u1/rootfs.ext4"
ino=$(stat -c %i "$C")

clone_one 2 vm-u1 --golden "$G"
stderr_has "already exists; pass --force"
[ "$(stat -c %i "$C")" = "$ino" ] || fail "replaced without --force"

# In use: a process holds the image lock. Even --force is refused.
(exec 9<"$C"; flock -x 9; exec sleep 30) &
holder=$!
on_exit "kill $holder 2>/dev/null"
for _ in $(seq 100); do flock -n -x "$C" true 2>/dev/null || break; sleep 0.05; done
clone_one 2 vm-u1 --golden "$G" --force
stderr_has "in use"
[ "$(stat -c %i "$C")" = "$ino" ] || fail "replaced while in use"
kill $holder; wait $holder 2>/dev/null || true

clone_one 0 vm-u1 --golden "$G" --force
[ "$(stat -c %i "$C")" != "$ino" ] || fail "--force did not replace"
fsck_clean "$C"
no_temps "$S/vms/vm-u1"

# The golden locked exclusively: refused.
(exec 9<"$G"; flock -x 9; exec sleep 30) &
holder=$!
on_exit "kill $holder 2>/dev/null"
for _ in $(seq 100); do flock -n -s "$G" true 2>/dev/null || break; sleep 0.05; done
clone_one 2 vm-u2 --golden "$G"
stderr_has "is in use"
kill $holder; wait $holder 2>/dev/null || true

# A temporary clone left by a killed run (nobody holds its lock) is removed.
touch "$S/vms/vm-u1/.rootfs.ext4.tmp.99999.deadbeef"
clone_one 0 vm-u1 --golden "$G" --force
no_temps "$S/vms/vm-u1"
pass "--force, in-use refusal, stale temporaries"
