#!/usr/bin/env bash
# cmake --install into a DESTDIR puts binaries, man pages and completions
# where a distribution expects them.
. "$(dirname "$0")/lib.sh"
need_cmd cmake
dest="$T/dest"
DESTDIR="$dest" cmake --install "$VMU_BUILD" --prefix /usr >"$T/log" 2>&1 || { cat "$T/log" >&2; fail "install failed"; }
[ -n "${VMU_TOOLS:-}" ] || fail "VMU_TOOLS is empty: nothing would be checked"
for tool in $VMU_TOOLS; do
  [ -x "$dest/usr/bin/$tool" ] || fail "no $dest/usr/bin/$tool"
  [ -f "$dest/usr/share/man/man1/$tool.1" ] || fail "no man page for $tool"
  [ -f "$dest/usr/share/bash-completion/completions/$tool" ] || fail "no bash completion for $tool"
  [ -f "$dest/usr/share/zsh/vendor-completions/_$tool" ] || fail "no zsh completion for $tool"
  [ -f "$dest/usr/share/fish/vendor_completions.d/$tool.fish" ] || fail "no fish completion for $tool"
  "$dest/usr/bin/$tool" --version >/dev/null || fail "installed $tool does not run"
done
# Nothing test-only is installed.
if find "$dest" -name '*fake*' | grep -q .; then fail "a test fake was installed"; fi
pass "install into DESTDIR"
