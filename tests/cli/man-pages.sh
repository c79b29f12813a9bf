#!/usr/bin/env bash
# Every tool has a man page, rendered with the version, that lists the
# exit codes and every long option of --help.
. "$(dirname "$0")/lib.sh"
version=$(vmnet-alloc --version | awk '{print $3}')
[ -n "${VMU_TOOLS:-}" ] || fail "VMU_TOOLS is empty: nothing would be checked"
for tool in $VMU_TOOLS; do
  src="$VMU_SRC/man/$tool.1.scd"
  page="$VMU_BUILD/man/$tool.1"
  [ -f "$src" ] || fail "no man page source $src"
  [ -f "$page" ] || fail "no rendered man page $page"
  grep -q "$version" "$page" || fail "$page lacks the version $version"
  grep -q 'EXIT STATUS' "$page" || fail "$page has no EXIT STATUS section"
  for code in 0 1 2 3 4 5 130; do
    grep -qE "^\*$code\*" "$src" || fail "$src does not list exit code $code"
  done
  "$tool" --help >"$T/help"
  subs=$(awk '/^Subcommands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on=0}' "$T/help")
  for sub in $subs; do "$tool" "$sub" --help >>"$T/help"; done
  # The options' own lines (the Examples block names other tools' options).
  for opt in $(awk '/^Examples:/ {ex=1} /^[A-Z][a-z].*:$/ && !/^Examples:/ {ex=0} !ex' "$T/help" |
    grep -oE '(^|[ ,])--[a-z][a-z0-9-]*' | sed 's/^[ ,]*//' | sort -u); do
    grep -qF -- "$opt" "$src" || fail "$src does not document $opt"
  done
done
pass "man pages for: $VMU_TOOLS"
