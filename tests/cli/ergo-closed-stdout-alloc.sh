#!/usr/bin/env bash
# vmnet-alloc's stdout closes under it (the next program exited): the VMs
# nobody received are undone (TAP, lease, DHCP file, state), stderr says so
# in one line, the exit code is 1; a VM that was received stays whole.
. "$(dirname "$0")/lib.sh"
make_netns
need_cmd python3
need_cmd jq
here=$(cd "$(dirname "$0")" && pwd)
pool=10.78.0.0/24
dhcp="$T/dhcp"
leases() { vmnet-alloc list --json | jq -r .id | sort; }
taps() { in_ns ip -o link show type tun 2>/dev/null | awk -F': ' '{print $2}' | sort; }

# 1. The reader is gone before anything is written: every VM is undone.
rc=0
rc=0
ip netns exec "$NS" python3 "$here/closed-pipe.py" gone vmnet-alloc -p $pool --create-bridge -b vmubr0 \
  --dhcp-hostsdir "$dhcp" --count 3 >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" -eq 1 ] || { cat "$ERR" >&2; fail "exit $rc, want 1"; }
[ "$(grep -c 'standard output was closed' "$ERR")" -eq 1 ] || { cat "$ERR" >&2; fail "not one line about the closed stdout"; }
stderr_has "not received, so undone (TAP, lease, DHCP file and state removed); 2 more not allocated"
[ -z "$(leases)" ] || fail "leases left: $(leases)"
[ -z "$(taps)" ] || fail "TAPs left: $(taps)"
[ -z "$(ls -A "$dhcp" 2>/dev/null)" ] || fail "DHCP files left: $(ls "$dhcp")"
[ -z "$(ls -A "$S/vms" 2>/dev/null)" ] || fail "state left: $(ls "$S/vms")"

# 2. The reader takes one VM and exits while vmnet-alloc is still writing:
# that VM stays, every other one is undone or never made.
rc=0
ip netns exec "$NS" python3 "$here/closed-pipe.py" one vmnet-alloc -p $pool --create-bridge -b vmubr0 \
  --dhcp-hostsdir "$dhcp" --count 40 >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" -eq 1 ] || { cat "$ERR" >&2; fail "exit $rc, want 1"; }
got=$(jq -r .id "$OUT")
[ -n "$got" ] || fail "the reader received no record"
[ "$(leases)" = "$got" ] || fail "leases: $(leases | tr '\n' ' '), want only $got"
[ "$(taps)" = "$(jq -r .net.tap "$OUT")" ] || fail "TAPs: $(taps | tr '\n' ' ')"
[ "$(ls "$dhcp")" = "$got" ] || fail "DHCP files: $(ls "$dhcp" | tr '\n' ' ')"
[ "$(ls "$S/vms")" = "$got" ] || fail "state: $(ls "$S/vms" | tr '\n' ' ')"
[ "$(grep -c 'standard output was closed' "$ERR")" -eq 1 ] || { cat "$ERR" >&2; fail "not one line about the closed stdout"; }
pass "vmnet-alloc undoes the VMs a closed stdout never delivered"
