#!/usr/bin/env bash
# One set of option checks and one --help form in every tool: no CLI11
# type noise ("N:UINT in [1 - 4096]=1"), defaults as "(default: X)", option
# groups, an Examples block; misspelt subcommands and options get "did you
# mean"; options of another subcommand are refused, not ignored; the common
# options work after a subcommand; an option's environment variable does
# not count as giving the option. (A type written NAME=DURATION is a
# type, not CLI11's TYPE=default.)
. "$(dirname "$0")/lib.sh"
[ -n "${VMU_TOOLS:-}" ] || fail "VMU_TOOLS is empty"
for tool in $VMU_TOOLS; do
  "$tool" --help >"$T/help"
  subs=$(awk '/^Subcommands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on=0}' "$T/help")
  for sub in $subs; do "$tool" "$sub" --help >>"$T/help"; done
  ! grep -nE ':(UINT|INT|TEXT|FLOAT)|in \[|REQUIRED|\(Env:|^ +(-[a-zA-Z], )?--[a-z0-9-]+ [A-Z]+=[^A-Z ]' "$T/help" ||
    fail "$tool --help has CLI11's own notation (above)"
  grep -q '^Common options:$' "$T/help" || fail "$tool --help has no 'Common options' group"
  grep -q '^Examples:$' "$T/help" || fail "$tool --help has no Examples"
  grep -qE '^  -q, --quiet' "$T/help" || fail "$tool --help: options not written '-q, --quiet'"
done
expect_rc 0 vmnet-alloc --help
grep -qE '^  -n, --count N +Number of VMs to allocate \(default: 1\)$' "$OUT" || fail "--count: $(grep -e --count "$OUT")"

# did you mean
expect_rc 2 vmnet-alloc lsit
stderr_has "unknown command 'lsit' (did you mean 'list'?); commands: alloc, release, list, gc"
expect_rc 2 vmnet-alloc --poool 10.0.0.0/24
stderr_has "unknown option '--poool' (did you mean '--pool'?)"
expect_rc 2 rootfs-inspect chek x
stderr_has "did you mean 'check'?"
expect_rc 2 fc-launch --journal-console-level warn
stderr_has "'warn' is not one of emerg, alert, crit, err, warning, notice, info, debug (did you mean 'warning'?)"
expect_rc 2 fc-launch --vcpus -1
stderr_has "--vcpus: '-1' is not a number from 1 to 32"
[ ! -s "$OUT" ] || fail "a usage error wrote to stdout"
# Durations: one check (cli::duration over util/duration), one form in --help.
expect_rc 2 vm-wait-ready --timeout 2x
stderr_has "--timeout: '2x' is not a duration (unknown unit 'x'; e.g. 90, 90s, 1500ms, 2m)"
expect_rc 2 vm-destroy --grace 11m
stderr_has "--grace: '11m' is not a duration from 0 ms to 10 min 0 s"
expect_rc 2 fc-launch --start-timeout 0
stderr_has "--start-timeout: '0' is not a duration from 1 ms to 10 min 0 s"
for tool in $VMU_TOOLS; do "$tool" --help; done >"$T/all-help"
for sub in alloc release list gc; do vmnet-alloc "$sub" --help; done >>"$T/all-help"
! grep -nE '(SECONDS|MS|MILLISECONDS)( |$)' "$T/all-help" || fail "a duration option not written DURATION (above)"
grep -qE '^  --timeout DURATION +Deadline per VM.*\(default: 120s\)$|^  --timeout DURATION' "$T/all-help" ||
  fail "vm-wait-ready --timeout is not a DURATION"

# Options of another subcommand: refused, naming where they belong.
expect_rc 2 vmnet-alloc list --count 3
stderr_has "'--count' does not apply to 'vmnet-alloc list' (it is an option of 'vmnet-alloc alloc')"
expect_rc 2 vmnet-alloc --count 3 gc --dry-run
stderr_has "'--count' does not apply to 'vmnet-alloc gc'"
expect_rc 2 vmnet-alloc list --grace 5
stderr_has "'--grace' is an option of 'vmnet-alloc gc', not of 'vmnet-alloc list'"
expect_rc 2 rootfs-inspect ls --unit agent x
stderr_has "'--unit' is an option of 'rootfs-inspect check', not of 'rootfs-inspect ls'"
# What a subcommand does take, before or after it.
expect_rc 0 vmnet-alloc list --pool 10.9.9.0/24 --state-dir "$S" -q
expect_rc 0 vmnet-alloc -q --state-dir "$S" list
# $VMUTILS_POOL is not "--pool given" for release.
VMUTILS_POOL=10.9.9.0/24 expect_rc 2 vmnet-alloc release vm-nope
stderr_has "unknown VM 'vm-nope'"
! grep -q "does not apply" "$ERR" || fail "an environment variable counted as an option"
pass "one form of --help and of option checks; did you mean; misplaced options refused"
