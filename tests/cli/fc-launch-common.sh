# Shared by the fc-launch tests (sourced after lib.sh).
FAKE_FC="${VMU_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/fake-firecracker/fake_firecracker.py"
[ -x "$FAKE_FC" ] || skip "the fake Firecracker is missing: $FAKE_FC"
command -v python3 >/dev/null || skip "needs python3 for the fake Firecracker"

# json FILE EXPR: evaluate a Python expression on the JSON in FILE (as j).
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# new_record ID [NET-JSON]: a record with a sparse rootfs file in the VM's
# state folder (the only place fc-launch boots a record's disk from), on
# stdout; $T/ID.ext4 is a symlink to it.
new_record() {
  local id=$1 net=${2:-} disk="$S/vms/$1/rootfs.ext4"
  mkdir -p "$S/vms/$id"
  truncate -s 64M "$disk"
  ln -sf "$disk" "$T/$id.ext4"
  if [ -n "$net" ]; then
    printf '{"v":1,"id":"%s","created":"2026-01-01T00:00:00Z","net":%s,"rootfs":{"path":"%s"}}\n' "$id" "$net" "$disk"
  else
    printf '{"v":1,"id":"%s","created":"2026-01-01T00:00:00Z","rootfs":{"path":"%s"}}\n' "$id" "$disk"
  fi
}

# A kernel and an initrd: fake files are fine for the fake Firecracker.
: >"$T/vmlinux"
: >"$T/initrd.img"
FCL=(fc-launch --firecracker-bin "$FAKE_FC" --kernel "$T/vmlinux" --initrd "$T/initrd.img")

# kill_vmm RECORD-FILE: stop the VMM a record names (at the end of a test).
kill_vmm() {
  local pid
  pid=$(json "$1" 'j["vmm"]["pid"]' 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
}
