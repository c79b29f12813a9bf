#!/usr/bin/env bash
# Interface names are checked before they reach the kernel, which would
# expand '%d' (a TAP named 'tp%d' becomes tp0 and leaks; a bridge 'b%d' makes
# b0, b1, ...): '%', '/', ':', whitespace, '.', '..' and names over 15 bytes
# are usage errors, and nothing is created or leased.
. "$(dirname "$0")/lib.sh"
make_netns

links() { in_ns ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort; }
before=$(links)
expect_rc 2 in_ns vmnet-alloc --pool 10.33.0.0/24 --bridge vmubr0 --create-bridge --tap-prefix 'tp%d' -q
stderr_has "'tp%d'"
expect_rc 2 in_ns vmnet-alloc --pool 10.33.0.0/24 --bridge 'b%d' --create-bridge -q
stderr_has "'b%d'"
for bad in 'a b' $'a\tb' $'a\vb' $'a\fb' $'a\rb' $'a\x01b' '.' '..' 'a/b' 'a:b' 'x%s' ''; do
  expect_rc 2 in_ns vmnet-alloc --pool 10.33.0.0/24 --bridge "$bad" --create-bridge -q
  expect_rc 2 in_ns vmnet-alloc --pool 10.33.0.0/24 --bridge vmubr0 --create-bridge --tap-prefix "$bad" -q
done
after=$(links)
[ "$before" = "$after" ] || fail "devices appeared: $(diff <(echo "$before") <(echo "$after") | tr '\n' ' ')"
expect_rc 0 vmnet-alloc list
[ ! -s "$OUT" ] || fail "a lease was left: $(cat "$OUT")"
pass "bad interface names refused before the kernel sees them"
