#!/usr/bin/env bash
# Bad input exits 2 with a message quoting it; an exhausted pool exits 5
# naming the pool and its size. Nothing here needs root (--no-tap).
. "$(dirname "$0")/lib.sh"

expect_rc 2 vmnet-alloc --no-tap --pool 192.168.100.0
stderr_has "pool '192.168.100.0'"
expect_rc 2 vmnet-alloc --no-tap --pool 192.168.300.0/24
expect_rc 2 vmnet-alloc --no-tap --pool 192.168.100.7/24
stderr_has "did you mean 192.168.100.0/24"
expect_rc 2 vmnet-alloc --no-tap --pool 192.168.100.0/24 --gateway 10.0.0.1
stderr_has "gateway 10.0.0.1 is not a host address of pool 192.168.100.0/24"
expect_rc 2 vmnet-alloc --no-tap --pool 192.168.100.0/24 --gateway nope
expect_rc 2 vmnet-alloc --pool 192.168.100.0/24 --bridge this-name-is-too-long
stderr_has "bridge name 'this-name-is-too-long'"
expect_rc 2 vmnet-alloc --pool 10.0.0.0/8 --tap-prefix verylongpfx
stderr_has "interface names hold at most 15"
expect_rc 2 vmnet-alloc --no-tap
stderr_has "--pool is required"
expect_rc 2 vmnet-alloc --no-tap --pool 10.1.0.0/24 --id Bad_Id
expect_rc 2 vmnet-alloc --no-tap --pool 10.1.0.0/24 --id vm-a --count 2
expect_rc 2 vmnet-alloc release vm-unknown
stderr_has "unknown VM 'vm-unknown'"
expect_rc 2 vmnet-alloc --no-tap --pool 10.1.0.0/24 --count 0
expect_rc 2 vmnet-alloc --frobnicate
stderr_has "Try 'vmnet-alloc --help'"
[ ! -s "$OUT" ] || fail "stdout must stay empty on a usage error"

# A /29 has 5 leasable addresses (.1 is the gateway).
expect_rc 0 vmnet-alloc --no-tap --pool 10.2.0.0/29 --count 5
[ "$(wc -l <"$OUT")" -eq 5 ] || fail "expected 5 records"
expect_rc 5 vmnet-alloc --no-tap --pool 10.2.0.0/29
stderr_has "pool 10.2.0.0/29 is exhausted: all 5 leasable addresses"
# The same id twice is refused.
expect_rc 0 vmnet-alloc --no-tap --pool 10.3.0.0/24 --id vm-same
expect_rc 2 vmnet-alloc --no-tap --pool 10.3.0.0/24 --id vm-same
stderr_has "exists already"
pass "bad input"
