#!/usr/bin/env bash
# Every tool and subcommand: --help on stdout, exit 0, nothing on stderr,
# within 80 columns; --version likewise; an unknown option is an error on
# stderr (stdout empty) with exit 2 and a pointer to --help.
. "$(dirname "$0")/lib.sh"
[ -n "${VMU_TOOLS:-}" ] || fail "VMU_TOOLS is empty"

check_help() {
  local what="$*"
  expect_rc 0 "$@" --help
  [ -s "$OUT" ] || fail "$what --help printed nothing on stdout"
  [ ! -s "$ERR" ] || fail "$what --help wrote to stderr"
  local long
  long=$(awk 'length($0) > 80' "$OUT")
  [ -z "$long" ] || fail "$what --help exceeds 80 columns:"$'\n'"$long"
  grep -q '^Usage:' "$OUT" || fail "$what --help has no Usage line"
}

for tool in $VMU_TOOLS; do
  check_help "$tool"
  grep -q "Exit codes" "$OUT" || fail "$tool --help does not list the exit codes"
  # Subcommands are the lines under "Subcommands:".
  subs=$(awk '/^Subcommands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on=0}' "$OUT")
  for sub in $subs; do check_help "$tool" "$sub"; done

  expect_rc 0 "$tool" --version
  grep -q "^$tool (vmutils) [0-9]" "$OUT" || fail "$tool --version: $(cat "$OUT")"

  expect_rc 2 "$tool" --no-such-option
  [ ! -s "$OUT" ] || fail "$tool wrote to stdout on a usage error"
  stderr_has "$tool: error:"
  stderr_has "--help"
done
pass "help contract for: $VMU_TOOLS"
