#!/usr/bin/env bash
# A clone is the golden, byte for byte, except /etc/machine-id (derived from
# the VM id, mode kept); e2fsck-clean, sparse, 0600; the record's rootfs
# section is complete and saved in the state folder.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-clone-common.sh"
G="$T/golden.ext4"
make_golden "$G" 48M

clone_one 0 vm-basic1 --golden "$G" --method copy
C="$S/vms/vm-basic1/rootfs.ext4"
[ -f "$C" ] || fail "no clone at $C"
stderr_has "vm-basic1: copied"
stderr_has "(sparse)"

# The record: every field of the section, and saved.
for f in path golden golden_sha256 golden_uuid golden_size golden_mtime method bytes_copied elapsed_ms boot_id synced; do
  jq -e ".rootfs | has(\"$f\")" "$OUT" >/dev/null || fail "rootfs.$f missing: $(cat "$OUT")"
done
[ "$(jq -r .rootfs.path "$OUT")" = "$C" ] || fail "rootfs.path"
[ "$(jq -r .rootfs.golden "$OUT")" = "$G" ] || fail "rootfs.golden"
[ "$(jq -r .rootfs.method "$OUT")" = copy ] || fail "rootfs.method"
[ "$(jq -r .rootfs.golden_sha256 "$OUT")" = "$(sha256sum <"$G" | cut -c1-64)" ] || fail "golden_sha256"
[ "$(jq -r .rootfs.golden_size "$OUT")" = "$(stat -c %s "$G")" ] || fail "golden_size"
uuid=$(dumpe2fs -h "$G" 2>/dev/null | awk '/Filesystem UUID/ {print $3}')
[ "$(jq -r .rootfs.golden_uuid "$OUT")" = "$uuid" ] || fail "golden_uuid"
[ "$(jq -r .rootfs.golden_mtime "$OUT")" = "$(date -u -d "@$(stat -c %Y "$G")" +%Y-%m-%dT%H:%M:%SZ)" ] ||
  fail "golden_mtime"
jq -e '.rootfs | has("size") | not' "$OUT" >/dev/null || fail "size without --size"
jq -e '.rootfs.bytes_copied > 6000000' "$OUT" >/dev/null || fail "bytes_copied too small"
cmp <(jq -S . "$OUT") <(jq -S . "$S/vms/vm-basic1/record.json") >/dev/null || fail "record not saved"

# machine-id: derived, newline-terminated, mode kept.
[ "$(dbg "$C" 'cat /etc/machine-id')" = "$(derived_id vm-basic1)" ] || fail "machine-id not derived"
dbg "$C" 'stat /etc/machine-id' | grep -q 'Mode:  0444' || fail "machine-id mode not kept"
[ "$(dbg "$G" 'cat /etc/machine-id')" = 0123456789abcdef0123456789abcdef ] || fail "golden changed"
fsck_clean "$C"

# Everything else is the golden's: compare the trees file by file.
mkdir "$T/a" "$T/b"
dbg "$G" "rdump / $T/a" >/dev/null
dbg "$C" "rdump / $T/b" >/dev/null
diff -r -x machine-id "$T/a" "$T/b" >/dev/null || fail "clone contents differ from the golden"
[ -f "$T/b/etc/machine-id" ] || fail "no machine-id in clone dump"

# Sparse, private.
[ "$(stat -c %s "$C")" = "$(stat -c %s "$G")" ] || fail "size differs"
[ $(($(stat -c %b "$C") * 512)) -lt $(($(stat -c %s "$C") / 2)) ] || fail "clone is not sparse"
[ "$(stat -c %a "$C")" = 600 ] || fail "clone mode $(stat -c %a "$C"), want 600"
no_temps "$S/vms/vm-basic1"

# --keep-machine-id: the clone is the golden, byte for byte.
clone_one 0 vm-basic2 --golden "$G" --keep-machine-id
cmp "$G" "$S/vms/vm-basic2/rootfs.ext4" || fail "--keep-machine-id clone is not byte-identical"

# --id, and the golden from $VMUTILS_GOLDEN; a second clone keeps its own id.
expect_rc 0 env VMUTILS_GOLDEN="$G" rootfs-clone --id vm-basic1 --force
[ "$(dbg "$C" 'cat /etc/machine-id')" = "$(derived_id vm-basic1)" ] || fail "re-clone machine-id"
fsck_clean "$C"
pass "clone identical but for machine-id, clean, sparse, record complete"
