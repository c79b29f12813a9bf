#!/usr/bin/env bash
# fc-launch against the fake Firecracker: the requests arrive in order with
# the right bodies (logger once, by flags), the record gets its vmm section,
# the console file has the guest's output, the VMM runs detached holding the
# rootfs lock. As root the VM gets a real TAP in a namespace; otherwise the
# record has no NIC (and the network request is checked by fc-launch-tap).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fc-launch-common.sh"
id=vm-happy
run=()
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null; then
  make_netns
  in_ns ip tuntap add vmutap0 mode tap
  new_record "$id" '{"tap":"vmutap0","mac":"06:00:0a:54:00:02","ip":"10.84.0.2","prefix":24}' >"$T/rec"
  run=(ip netns exec "$NS")
  export FAKE_FC_REQUIRE_TAP=1
else
  echo "note: not root, the record has no NIC" >&2
  new_record "$id" >"$T/rec"
fi
export FAKE_FC_REQUEST_LOG="$T/requests.jsonl"
expect_rc 0 "${run[@]}" "${FCL[@]}" --vcpus 2 --mem-mib 256 <"$T/rec"
cp "$OUT" "$T/out.json"
on_exit "kill_vmm '$T/out.json'"

# The vmm section, exactly the contract's fields.
keys=$(json "$T/out.json" '",".join(sorted(j["vmm"]))')
[ "$keys" = "accel,backend,boot_args,console_log,control_socket,initrd,kernel,log,mem_mib,pid,start_time,vcpus" ] \
  || fail "vmm keys: $keys"
[ "$(json "$T/out.json" 'j["vmm"]["backend"]')" = firecracker ] || fail "backend"
[ "$(json "$T/out.json" 'j["vmm"]["console_log"]')" = "$S/vms/$id/console.log" ] || fail "console_log path"
[ "$(json "$T/out.json" 'j["vmm"]["log"]')" = "$S/vms/$id/vmm.log" ] || fail "vmm log path"
[ "$(json "$T/out.json" 'j["vmm"]["control_socket"]')" = "$T/run/$id/api.sock" ] || fail "control_socket"
pid=$(json "$T/out.json" 'j["vmm"]["pid"]')
st=$(json "$T/out.json" 'j["vmm"]["start_time"]')
[ "$(awk '{print $22}' "/proc/$pid/stat")" = "$st" ] || fail "start_time does not match /proc/$pid/stat"
# Detached: its own session.
[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ] || fail "VMM is not a session leader"
# The saved record is the printed one.
cmp -s <(json "$T/out.json" 'j["vmm"]') <(json "$S/vms/$id/record.json" 'j["vmm"]') || fail "saved record differs"

# Request order and bodies.
python3 - "$FAKE_FC_REQUEST_LOG" "$T" "$S" "${run[*]:+nic}" <<'PY' || fail "requests differ"
import json, sys
log, T, S, nic = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "nic"
reqs = [json.loads(l) for l in open(log)]
names = [f'{r["method"]} {r["path"]}' for r in reqs]
want = ["GET /version", "PUT /machine-config", "PUT /boot-source", "PUT /drives/rootfs"]
if nic: want.append("PUT /network-interfaces/eth0")
want += ["PUT /serial", "PUT /actions"]
assert names == want, names
assert all(r["status"] in (200, 204) for r in reqs), reqs
b = {f'{r["method"]} {r["path"]}': r["body"] for r in reqs}
assert b["PUT /machine-config"] == {"vcpu_count": 2, "mem_size_mib": 256, "smt": False}, b
bs = b["PUT /boot-source"]
assert bs["kernel_image_path"] == f"{T}/vmlinux" and bs["initrd_path"] == f"{T}/initrd.img", bs
assert bs["boot_args"].startswith("console=ttyS0 reboot=k panic=1 pci=off"), bs
assert "systemd.journald.forward_to_console=1" in bs["boot_args"], bs
assert b["PUT /drives/rootfs"] == {"drive_id": "rootfs", "path_on_host": f"{T}/state/vms/vm-happy/rootfs.ext4",
                                   "is_root_device": True, "is_read_only": False}, b
if nic:
    assert b["PUT /network-interfaces/eth0"] == {"iface_id": "eth0", "host_dev_name": "vmutap0",
                                                 "guest_mac": "06:00:0a:54:00:02"}, b
assert b["PUT /serial"] == {"serial_out_path": f"{S}/vms/vm-happy/console.log"}, b
assert b["PUT /actions"] == {"action_type": "InstanceStart"}, b
PY
grep -q -- '--log-path' "/proc/$pid/cmdline" || fail "logger not configured by flags"

# The console has the guest's lines (the fake writes them right after boot).
for _ in $(seq 1 50); do grep -q 'fake-firecracker guest ready' "$S/vms/$id/console.log" 2>/dev/null && break; sleep 0.1; done
grep -q 'Linux version' "$S/vms/$id/console.log" || fail "console lacks the kernel banner"
grep -q 'fake-firecracker guest ready' "$S/vms/$id/console.log" || fail "console lacks the guest's output"
grep -q 'Running Firecracker' "$S/vms/$id/vmm.log" || fail "vmm.log lacks the VMM's log"
grep -q 'Running Firecracker' "$S/vms/$id/console.log" && fail "VMM log lines leaked into the console"

# The VMM holds the rootfs lock; it goes with the VMM.
flock -n "$T/$id.ext4" true && fail "rootfs lock not held while the VMM runs"
kill "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
flock -n "$T/$id.ext4" true || fail "rootfs lock still held after the VMM ended"
[ -s "$S/vms/$id/console.log" ] || fail "console log gone"
pass "requests, vmm section, console, lock"
