#!/usr/bin/env bash
# Without CAP_NET_ADMIN the error says so, not a bare EPERM.
. "$(dirname "$0")/lib.sh"
need_cmd setpriv
make_netns
expect_rc 1 in_ns setpriv --bounding-set=-net_admin --inh-caps=-net_admin \
  vmnet-alloc --pool 10.79.0.0/24 --bridge lo --id vm-np
stderr_has "needs CAP_NET_ADMIN"
[[ $(in_ns vmnet-alloc list) != *vm-np* ]] || fail "lease kept after the failure"
pass "missing CAP_NET_ADMIN is named"
