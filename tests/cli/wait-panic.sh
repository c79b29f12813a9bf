#!/usr/bin/env bash
# A kernel panic, init missing, a root that cannot be mounted, emergency
# mode: each is a verdict at once, with the console line as evidence.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wait-lib.sh"
wait_setup
check() {  # ID REASON LINE
  make_record "$1"
  say "$CON" "[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)"
  ( sleep 0.5; say "$CON" "$3" "[    9.0] ---[ end Kernel panic - not syncing: whatever ]---"; now >"$T/said") &
  expect_rc 4 in_ns vm-wait-ready <"$REC"
  local t_end
  t_end=$(now)
  [ "$(field "$OUT" 'r["ready"]["reason"]')" = "$2" ] || fail "$1: reason is not $2"
  [ "$(field "$OUT" 'r["ready"]["evidence"][0]')" = "$3" ] || fail "$1: the line is not the first evidence"
  echo "$1: $2 $(elapsed "$(cat "$T/said")" "$t_end") s after the line"
}
check vm-panic kernel_panic "[    8.1] Kernel panic - not syncing: Fatal exception in interrupt"
check vm-init no_init "[    4.2] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100"
check vm-root no_root_fs "initrd: FATAL: root device /dev/vda did not appear within 10 s (block devices: )"
check vm-emerg emergency_mode "You are in emergency mode. After logging in, type \"journalctl -xb\" to view"
pass "boot failures named at once"
