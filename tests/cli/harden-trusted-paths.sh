# A record's rootfs.path is trusted only when it is the VM's own file under
# vms/<id>/ of this state folder: agent-inject does not write, and fc-launch
# (--dry-run included) does not plan or boot, another VM's disk, a golden,
# /etc/shadow or a relative path out. The operator can still name an image
# explicitly (agent-inject --image). A net section with a MAC that would
# smuggle a QEMU option is refused before QEMU sees it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/harden-common.sh"

G="$T/golden.ext4"
small_golden "$G"
: >"$T/vmlinux"
cloned vm-p1 vm-p2
gsum=$(sha256sum <"$G")
p2sum=$(sha256sum <"$S/vms/vm-p2/rootfs.ext4")
shadow=$(sha256sum </etc/shadow 2>/dev/null || true)
cp "$S/vms/vm-p1/record.json" "$T/p1.json"

for path in "$G" "$S/vms/vm-p2/rootfs.ext4" /etc/shadow ../../../../../../etc/shadow \
  "$S/vms/vm-p1/../vm-p2/rootfs.ext4"; do
  jq -c --arg p "$path" '.rootfs.path = $p | .rootfs.golden = "/elsewhere"' "$T/p1.json" >"$T/in"
  cp "$T/p1.json" "$S/vms/vm-p1/record.json"
  expect_rc 2 agent-inject --env K=v <"$T/in"
  stderr_has "rootfs.path '$path'"
  jq -e '.error.reason == "untrusted_path" or .error.reason == "not_found"' "$OUT" >/dev/null ||
    fail "agent-inject: $path: $(cat "$OUT")"
  expect_rc 2 fc-launch --dry-run --vmm qemu --kernel "$T/vmlinux" <"$T/in"
  [ ! -s "$OUT" ] || fail "fc-launch --dry-run planned '$path'"
  stderr_has "rootfs.path '$path'"
  expect_rc 2 fc-launch --vmm qemu --kernel "$T/vmlinux" --qemu-bin /bin/false <"$T/in"
  jq -e '.error.reason == "untrusted_path" or .error.reason == "not_found"' "$OUT" >/dev/null ||
    fail "fc-launch: $path: $(cat "$OUT")"
done
[ "$(sha256sum <"$G")" = "$gsum" ] || fail "the golden was written"
[ "$(sha256sum <"$S/vms/vm-p2/rootfs.ext4")" = "$p2sum" ] || fail "another VM's disk was written"
[ "$(sha256sum </etc/shadow 2>/dev/null || true)" = "$shadow" ] || fail "/etc/shadow changed"
pass "paths outside the VM's own folder are refused"

# A symlink inside the VM's folder pointing out is judged by its target.
ln -s "$G" "$S/vms/vm-p1/evil.ext4"
jq -c --arg p "$S/vms/vm-p1/evil.ext4" '.rootfs.path = $p' "$T/p1.json" >"$T/in"
cp "$T/p1.json" "$S/vms/vm-p1/record.json"
expect_rc 2 agent-inject --env K=v <"$T/in"
stderr_has "is not inside this VM's state folder"
pass "a symlink out of the VM folder is refused"

# The VM's own disk works; an image named by the operator still works.
cp "$T/p1.json" "$S/vms/vm-p1/record.json"
expect_rc 0 agent-inject --env K=v <"$T/p1.json"
cp "$G" "$T/mine.ext4"
expect_rc 0 agent-inject --image "$T/mine.ext4" --env K=v
pass "the VM's own disk and an explicit --image are accepted"

# net values that would reach QEMU's argv.
jq -c '.net = {"tap":"vmtap1","mac":"06:00:00:00:00:01,romfile=/etc/shadow"}' "$T/p1.json" >"$T/in"
expect_rc 2 fc-launch --dry-run --vmm qemu --kernel "$T/vmlinux" <"$T/in"
stderr_has "net.mac"
[ ! -s "$OUT" ] || fail "a MAC with a QEMU option was planned"
jq -c '.net = {"tap":"a,script=/tmp/x"}' "$T/p1.json" >"$T/in"
expect_rc 2 fc-launch --dry-run --vmm qemu --kernel "$T/vmlinux" <"$T/in"
stderr_has "net.tap"
jq -c '.net = {"tap":"vmtap1","prefix":"24"}' "$T/p1.json" >"$T/in"
expect_rc 2 fc-launch --dry-run --vmm qemu --kernel "$T/vmlinux" <"$T/in"
stderr_has "net.prefix"
pass "net values are checked before QEMU sees them"
