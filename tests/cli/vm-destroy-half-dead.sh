#!/usr/bin/env bash
# vm-destroy on VMs in every half-dead shape, in a network namespace with
# real TAPs and leases: a stand-in VMM (a sleeping process; its QMP socket
# is missing, so signals stop it) with its TAP, lease and DHCP entry; one
# whose TAP and lease are already gone; a folder without a record whose
# lease is still held; one whose VMM ignores SIGTERM. Each ends with no
# process, TAP, lease, DHCP file or state; exit 0; twice is fine.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/evidence-lib.sh"
make_netns
hosts="$T/hosts"
mkdir -p "$hosts"
alloc() { in_ns vmnet-alloc --pool 10.88.0.0/24 --bridge vmubr8 --create-bridge --dhcp-hostsdir "$hosts" --id "$1" -q >"$T/$1.net"; }
merge_net() {  # the allocation's net section into the fabricated record
  set_section "$1" net "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["net"]))' "$T/$1.net")"
}
gone() {  # ID TAP: nothing of the VM left
  [ -e "$S/vms/$1" ] && fail "$1: state folder left"
  in_ns ip link show "$2" >/dev/null 2>&1 && fail "$1: TAP $2 left"
  [ -e "$hosts/$1" ] && fail "$1: DHCP host file left"
  in_ns vmnet-alloc list | grep -q "\"$1\"" && fail "$1: lease left"
  return 0
}

# 1. Alive, with everything.
alloc vm-hd1
stand_in
fake_vm vm-hd1 "$PID" "$START"
merge_net vm-hd1
tap1=$(json "$T/vm-hd1.net" 'j["net"]["tap"]')
in_ns ip link show "$tap1" >/dev/null || fail "no TAP to start with"
expect_rc 0 in_ns vm-destroy --grace 2s vm-hd1
runs "$PID" && fail "stand-in VMM $PID still runs"
[ "$(json "$OUT" 'j["destroyed"]["vmm"]')" = sigterm ] || fail "vmm: $(json "$OUT" 'j["destroyed"]')"
stderr_has "QMP"
stderr_has "vm-hd1: released the lease of"
gone vm-hd1 "$tap1"

# 2. VMM gone, TAP deleted and lease freed behind vm-destroy's back.
alloc vm-hd2
fake_vm vm-hd2 999999 1
merge_net vm-hd2
tap2=$(json "$T/vm-hd2.net" 'j["net"]["tap"]')
in_ns vmnet-alloc release vm-hd2 -q >/dev/null
expect_rc 0 in_ns vm-destroy vm-hd2
stderr_has "not found: a running VMM (pid 999999 is gone)"
stderr_has "not found: a lease for vm-hd2 (already free)"
stderr_has "not found: TAP $tap2"
gone vm-hd2 "$tap2"

# 3. A folder without a record; its lease (and TAP) still held.
alloc vm-hd3
tap3=$(json "$T/vm-hd3.net" 'j["net"]["tap"]')
rm "$S/vms/vm-hd3/record.json"
expect_rc 0 in_ns vm-destroy vm-hd3
stderr_has "vm-hd3: released the lease"
gone vm-hd3 "$tap3"

# 4. A VMM that ignores SIGTERM: SIGKILL after --grace.
alloc vm-hd4
bash -c 'trap "" TERM; while :; do sleep 1; done' &
P4=$!
on_exit "kill -9 $P4 2>/dev/null"
sleep 0.2
fake_vm vm-hd4 "$P4" "$(sed 's/.*) //' "/proc/$P4/stat" | cut -d' ' -f20)"
merge_net vm-hd4
tap4=$(json "$T/vm-hd4.net" 'j["net"]["tap"]')
expect_rc 0 in_ns vm-destroy --grace 300ms --id vm-hd4
[ "$(json "$OUT" 'j["destroyed"]["vmm"]')" = sigkill ] || fail "expected sigkill: $(cat "$ERR")"
runs "$P4" && fail "the TERM-ignoring VMM still runs"
gone vm-hd4 "$tap4"

# 5. Twice, and ids that never existed: nothing found, exit 0.
expect_rc 0 in_ns vm-destroy vm-hd1 vm-never
stderr_has "vm-never: not found: state folder"
[ "$(grep -c . "$OUT")" = 2 ] || fail "expected a record per id"
# Bad input.
expect_rc 2 vm-destroy 'Bad_Id'
expect_rc 2 vm-destroy --archive sometimes vm-hd1
expect_rc 2 vm-destroy --grace forever vm-hd1
pass "vm-destroy: alive (SIGTERM), half-dead (VMM, TAP, lease gone), no record, SIGKILL after grace, twice"
