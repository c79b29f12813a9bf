#!/usr/bin/env bash
# Long work shows progress on a terminal: the step is named before it starts
# (also in pipes), then one live line with bytes done / total / rate / ETA
# (only on a terminal, never in a pipe or with -q): the first hash of a
# golden, the clone's copy, a large agent-inject --copy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ergo-common.sh"
root="$T/groot"
mkdir -p "$root/etc"
echo golden >"$root/etc/hostname"
head -c 96M /dev/urandom >"$root/big"
mke2fs -q -F -t ext4 -d "$root" "$T/g.ext4" 160M >/dev/null 2>&1 || fail mke2fs
head -c 20M /dev/urandom >"$T/blob"
new_vm vm-p1
new_vm vm-p2
new_vm vm-p3

# On a terminal (stderr), 80 columns.
in_tty 80 "rootfs-clone --id vm-p1 --golden '$T/g.ext4' >/dev/null"
grep -qF "rootfs-clone: vm-p1: hashing the golden '$T/g.ext4' (160.0 MiB)" "$TTY_OUT" || { cat -v "$TTY_OUT" >&2; fail "the hash was not announced"; }
grep -qF "rootfs-clone: vm-p1: copying '$T/g.ext4' (160.0 MiB)" "$TTY_OUT" || fail "the copy was not announced"
grep -qF "vm-p1: hashing the golden: 0 B of 160.0 MiB" "$TTY_OUT" || { cat -v "$TTY_OUT" >&2; fail "no live hashing line"; }
grep -qF "vm-p1: copying: 0 B of 160.0 MiB" "$TTY_OUT" || fail "no live copy line"
grep -q $'\033\\[K' "$TTY_OUT" || fail "the live line is not erased in place"
# Every live line fits the terminal's 80 columns (event lines may wrap).
live=$(tr '\n' '\r' <"$TTY_OUT" | tr '\r' '\n' | sed 's/\x1b\[K//g' | grep -E ': [0-9.]+ [KMGT]?i?B of ')
[ -n "$live" ] || fail "no live lines found"
long=$(awk 'length($0) > 79' <<<"$live")
[ -z "$long" ] || fail "a live line is wider than the terminal: $long"

# The digest is cached now: no hash, the copy still says what it does.
in_tty 80 "rootfs-clone --id vm-p2 --golden '$T/g.ext4' >/dev/null"
! grep -q "hashing" "$TTY_OUT" || fail "hashed again"
grep -qF "vm-p2: copying" "$TTY_OUT" || fail "the second copy was not announced"

# In a pipe: the announcement, no live line; with -q: nothing.
rootfs-clone --id vm-p3 --golden "$T/g.ext4" 2>"$ERR" >/dev/null | cat
stderr_has "vm-p3: copying '$T/g.ext4' (160.0 MiB)"
! grep -q $'\033\\|\r' "$ERR" || fail "control sequences in a pipe: $(cat -v "$ERR")"
in_tty 80 "rootfs-clone -q --id vm-p3 --force --golden '$T/g.ext4' >/dev/null"
! grep -q '[^[:space:]]' "$TTY_OUT" || { cat -v "$TTY_OUT" >&2; fail "-q printed something"; }

# agent-inject: a 20 MiB --copy is announced and shown; a small one is not.
in_tty 80 "agent-inject --id vm-p1 --copy '$T/blob:/opt/blob' --mkdir /opt/small >/dev/null"
grep -qF "agent-inject: vm-p1: copying into the image '$T/blob' (20.0 MiB)" "$TTY_OUT" || { cat -v "$TTY_OUT" >&2; fail "the large copy was not announced"; }
grep -qF "vm-p1: copying into the image: 0 B of 20.0 MiB" "$TTY_OUT" || fail "no live line for the large copy"
echo small >"$T/small"
in_tty 80 "agent-inject --id vm-p1 --copy '$T/small:/opt/small' >/dev/null"
! grep -q "copying into the image" "$TTY_OUT" || fail "a small copy was announced"
pass "progress: announced before, live on a terminal, silent in pipes and with -q"
