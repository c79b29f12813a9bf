#!/usr/bin/env bash
# docs/troubleshooting.md has a section for every verdict vm-wait-ready can
# give and every exit code, and vm-wait-ready(1) points each verdict there.
# The verdicts are taken from three places that must agree: the man page's
# REASONS, the console catalog (vm-wait-ready --list-patterns) and the
# verdict function's source (lib/diagnose/verdict.cpp).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../cli/lib.sh"
need_cmd jq
src=${VMU_SRC:-$(cd "$here/../.." && pwd)}
doc="$src/docs/troubleshooting.md"
man="$src/man/vm-wait-ready.1.scd"
[ -f "$doc" ] || fail "no $doc"

# The REASONS section of the man page: *reason* ... (N) entry lines.
sed -n '/^# REASONS/,/^# GRACE PERIODS/p' "$man" >"$T/reasons"
grep -E '^\*[a-z_]+\*.*\([a-z ]*[0-9]+\)$' "$T/reasons" | grep -oE '\*[a-z_]+\*' | tr -d '*' >"$T/from-man"
vm-wait-ready --list-patterns | jq -r 'select(.kind == "failure") | .reason' >"$T/from-catalog"
grep -oE '(fail\(|reason = )"[a-z_]+"' "$src/lib/diagnose/verdict.cpp" | grep -oE '"[a-z_]+"' | tr -d '"' >"$T/from-source"
for f in from-man from-catalog from-source; do
  [ -s "$T/$f" ] || fail "no reasons found ($f): has the format changed?"
done
sort -u "$T/from-man" "$T/from-catalog" "$T/from-source" >"$T/all"
[ "$(wc -l <"$T/all")" -ge 18 ] || fail "only $(wc -l <"$T/all") reasons found: $(tr '\n' ' ' <"$T/all")"
missing=()
while read -r r; do
  grep -qxF "### \`$r\`" "$doc" || missing+=("$r")
  grep -qxF "$r" "$T/from-man" || fail "reason '$r' (catalog or source) is not in vm-wait-ready(1) REASONS"
done <"$T/all"
[ ${#missing[@]} = 0 ] || fail "docs/troubleshooting.md has no section for: ${missing[*]}"

# Every REASONS entry points to troubleshooting.md.
entries=$(grep -cE '^\*[a-z_]+\*.*\([a-z ]*[0-9]+\)$' "$T/reasons")
links=$(grep -cE '^	Next steps: \*troubleshooting\.md\*' "$T/reasons")
[ "$entries" = "$links" ] || fail "vm-wait-ready(1): $entries REASONS entries, $links point to troubleshooting.md"
grep -E '^	Next steps: .*section \*' "$T/reasons" | grep -oE 'section \*[a-z_]+\*' | grep -oE '[a-z_]+\*$' | tr -d '*' |
  while read -r r; do grep -qxF "### \`$r\`" "$doc" || fail "vm-wait-ready(1) points to a missing section '$r'"; done

# Every exit code of the man page's EXIT STATUS.
codes=$(sed -n '/^# EXIT STATUS/,/^# ENVIRONMENT/p' "$man" | grep -oE '^\*[0-9]+\*' | tr -d '*')
[ -n "$codes" ] || fail "no exit codes found in vm-wait-ready(1)"
for c in $codes; do grep -qE "^### Exit $c: " "$doc" || fail "docs/troubleshooting.md has no section 'Exit $c'"; done

# Every option the guide (and the operator's session) tells a user to type
# exists: TOOL [SUBCOMMAND] --option, checked against that --help.
tools='vmnet-alloc|rootfs-clone|agent-inject|fc-launch|vm-wait-ready|vm-destroy|vm-ls|vm-logs-archive|rootfs-inspect'
grep -ohE "($tools)( [^|\`#;)]*)?" "$doc" "$src/examples/operator-session.md" | sort -u >"$T/uses"
[ "$(wc -l <"$T/uses")" -ge 20 ] || fail "only $(wc -l <"$T/uses") commands found in the guide: has its format changed?"
nopts=0
while read -r tool rest; do
  sub=""
  first=${rest%% *}
  if [ -n "$first" ] && [ "${first#-}" = "$first" ] && "$tool" "$first" --help >/dev/null 2>&1; then sub=$first; fi
  for o in $(grep -oE '(^| )--[a-z][a-z-]*' <<<"$rest"); do
    nopts=$((nopts + 1))
    "$tool" $sub --help 2>/dev/null | grep -qE -- "(^|[ ,])$o([ =,]|\$)" ||
      fail "the guide runs '$tool${sub:+ $sub} $o', which $tool${sub:+ $sub} --help does not list (in: $tool $rest)"
  done
done <"$T/uses"
[ "$nopts" -ge 20 ] || fail "only $nopts options checked"

# Linked from the README.
grep -qF '(docs/troubleshooting.md)' "$src/README.md" || fail "README.md does not link docs/troubleshooting.md"
pass "troubleshooting.md: $nopts options of its commands exist; $(wc -l <"$T/all") verdicts and exit codes $(echo $codes), each with a section; vm-wait-ready(1) links them"
