#!/usr/bin/env bash
# The completion scripts under completions/ are what each tool generates
# from its own option table (run scripts/update-completions after changing
# options), parse in their shells, and complete every option --help lists.
. "$(dirname "$0")/lib.sh"
[ -n "${VMU_TOOLS:-}" ] || fail "VMU_TOOLS is empty: nothing would be checked"
# Each shell really parses its script (scripts/install-deps installs them).
need_cmd zsh
need_cmd fish

for tool in $VMU_TOOLS; do
  for sh in bash zsh fish; do
    case $sh in
      bash) f="$VMU_SRC/completions/bash/$tool" ;;
      zsh) f="$VMU_SRC/completions/zsh/_$tool" ;;
      fish) f="$VMU_SRC/completions/fish/$tool.fish" ;;
    esac
    [ -f "$f" ] || fail "missing $f (run scripts/update-completions)"
    "$tool" --completion $sh >"$T/gen" || fail "$tool --completion $sh failed"
    cmp -s "$T/gen" "$f" || { diff -u "$f" "$T/gen" >&2 || true; fail "$f is stale (run scripts/update-completions)"; }
  done
  bash -n "$VMU_SRC/completions/bash/$tool" || fail "bash completion of $tool does not parse"
  zsh -n "$VMU_SRC/completions/zsh/_$tool" || fail "zsh completion of $tool does not parse"
  fish -n "$VMU_SRC/completions/fish/$tool.fish" || fail "fish completion of $tool does not parse"

  # Every long option that --help (tool and subcommands) lists is completed.
  "$tool" --help >"$T/help"
  subs=$(awk '/^Subcommands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on=0}' "$T/help")
  for sub in $subs; do "$tool" "$sub" --help >>"$T/help"; done
  # The options' own lines (the Examples block names other tools' options).
  for opt in $(awk '/^Examples:/ {ex=1} /^[A-Z][a-z].*:$/ && !/^Examples:/ {ex=0} !ex' "$T/help" |
    grep -oE '(^|[ ,])--[a-z][a-z0-9-]*' | sed 's/^[ ,]*//' | sort -u); do
    grep -qw -- "$opt" "$VMU_SRC/completions/bash/$tool" || fail "bash completion of $tool lacks $opt"
    grep -q -- "-l ${opt#--}" "$VMU_SRC/completions/fish/$tool.fish" || fail "fish completion of $tool lacks $opt"
  done
  # And it really completes: ask bash for the options after "--".
  got=$(bash -c ". '$VMU_SRC/completions/bash/$tool'; COMP_WORDS=($tool --); COMP_CWORD=1; _${tool//-/_}; printf '%s\n' \"\${COMPREPLY[@]}\"")
  [[ $got == *--help* ]] || fail "bash completion of $tool does not offer --help: $got"
done
pass "completions current for: $VMU_TOOLS"
