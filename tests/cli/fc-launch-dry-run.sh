#!/usr/bin/env bash
# --dry-run prints the Firecracker requests or the QEMU argv as JSON and
# starts nothing, saves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fc-launch-common.sh"
new_record vm-dry >"$T/rec"
expect_rc 0 "${FCL[@]}" --dry-run <"$T/rec"
python3 - "$OUT" "$FAKE_FC" <<'PY' || fail "firecracker dry run"
import json, sys
j = json.loads(open(sys.argv[1]).read())
assert j["backend"] == "firecracker" and j["accel"] == "kvm", j
assert j["argv"][0] == sys.argv[2] and "--api-sock" in j["argv"] and "--log-path" in j["argv"], j
assert [r["path"] for r in j["requests"]] == ["/machine-config", "/boot-source", "/drives/rootfs",
                                              "/serial", "/actions"], j
assert j["requests"][-1]["body"] == {"action_type": "InstanceStart"}
PY
[ ! -e "$T/run/vm-dry" ] || [ -z "$(ls -A "$T/run/vm-dry")" ] || fail "dry run made a socket"
[ ! -e "$S/vms/vm-dry/record.json" ] || fail "dry run saved a record"
[ ! -e "$S/vms/vm-dry/console.log" ] || fail "dry run made a console log"

# QEMU: the argv, with TCG's tsc_early_khz and kernel ip= when asked. The
# TAP is not checked by a dry run (it may live in another namespace).
new_record vm-dryq '{"tap":"vmu-elsewhere0","ip":"10.85.0.7","prefix":24,"gateway":"10.85.0.1","mac":"06:00:0a:55:00:07"}' >"$T/recq"
expect_rc 0 fc-launch --vmm qemu --qemu-bin /bin/true --accel tcg --net-config kernel \
  --no-journal-console --kernel "$T/vmlinux" --dry-run <"$T/recq"
python3 - "$OUT" <<'PY' || fail "qemu dry run"
import json, sys
j = json.loads(open(sys.argv[1]).read())
a = j["argv"]
assert j["backend"] == "qemu" and j["accel"] == "tcg", j
assert a[a.index("-M") + 1] == "microvm,acpi=on", a
assert a[a.index("-accel") + 1] == "tcg", a
for f in ("-nodefaults", "-no-user-config", "-nographic", "-no-reboot"): assert f in a, f
app = a[a.index("-append") + 1]
assert app.startswith("console=ttyS0 reboot=t panic=1 root=/dev/vda rw"), app
assert "tsc_early_khz=" in app, app
assert "ip=10.85.0.7::10.85.0.1:255.255.255.0::eth0:off" in app, app
assert "journald" not in app, app
assert any(x.startswith("unix:") and x.endswith("/vm-dryq/qmp.sock,server=on,wait=off") for x in a), a
assert "-initrd" not in a
assert "tap,id=net0,ifname=vmu-elsewhere0,script=no,downscript=no,vnet_hdr=on" in a, a
PY
pass "dry runs"
