#!/usr/bin/env bash
# Man pages: SEE ALSO names only pages that exist (vmutils' own in man/,
# others where man finds them: a page of a program that is not installed
# here is named and not checked); every page has the one header form; the
# vmnet-alloc(1) dnsmasq example keeps its line continuation when rendered.
. "$(dirname "$0")/lib.sh"
need_cmd man
pages=("$VMU_SRC"/man/*.scd)
[ ${#pages[@]} -gt 0 ] || fail "no man page sources"
checked=0
for src in "${pages[@]}"; do
  page=$(basename "$src" .scd)             # vmnet-alloc.1
  name=${page%.*} sec=${page##*.}
  head -1 "$src" | grep -qxF "$name($sec) \"vmutils @VERSION@\" \"vmutils manual\"" ||
    fail "$src: header is '$(head -1 "$src")', want '$name($sec) \"vmutils @VERSION@\" \"vmutils manual\"'"
  refs=$(awk '/^# SEE ALSO/ {on=1; next} /^# / {on=0} on' "$src" | grep -oE '\*[A-Za-z0-9._-]+\*\([0-9]\)' | tr -d '*')
  [ -n "$refs" ] || fail "$src has no SEE ALSO"
  for ref in $refs; do
    rname=${ref%(*} rsec=${ref#*(}
    rsec=${rsec%)}
    if [ -f "$VMU_SRC/man/$rname.$rsec.scd" ]; then
      checked=$((checked + 1))
      continue
    fi
    case $rname in
      vm-* | vmnet-* | rootfs-* | agent-* | fc-* | vmutils*) fail "$src names $ref: no man/$rname.$rsec.scd" ;;
    esac
    if man -w "$rsec" "$rname" >/dev/null 2>&1; then
      checked=$((checked + 1))
    elif [ "$rsec" = 1 ] || [ "$rsec" = 8 ] && ! command -v "$rname" >/dev/null 2>&1; then
      echo "not checked: $ref ($rname is not installed here)"
    else
      fail "$src names $ref, which man cannot find"
    fi
  done
done
[ "$checked" -gt 0 ] || fail "no SEE ALSO entry was checked"
# The dnsmasq example's backslash survives rendering (roff eats a bare one).
MANWIDTH=100 man -l "$VMU_BUILD/man/vmnet-alloc.1" 2>/dev/null | grep -q -- '--bind-interfaces \\$' ||
  fail "vmnet-alloc(1): the dnsmasq example lost its line continuation"
pass "SEE ALSO: $checked references exist; one header; line continuation kept"
