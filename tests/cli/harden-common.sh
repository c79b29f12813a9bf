# Helpers for the hardening tests (sourced after lib.sh): a small golden,
# VMs cloned into the test's own state folder, records written by hand.
PATH="$PATH:/usr/sbin:/sbin"
for t in mke2fs e2fsck debugfs jq; do need_cmd "$t"; done

# rec ID [EXTRA-JSON-MEMBERS]: one pipeline record.
rec() { printf '{"v":1,"id":"%s"%s}\n' "$1" "${2:+,$2}"; }

# small_golden PATH: an 8 MiB ext4 image with /etc/machine-id and a file.
small_golden() {
  local root="$T/golden-root.$RANDOM"
  mkdir -p "$root/etc" "$root/usr/bin"
  printf '0123456789abcdef0123456789abcdef\n' >"$root/etc/machine-id"
  printf 'PATH=/usr/bin:/bin\n' >"$root/etc/environment"
  chmod 0644 "$root/etc/environment"
  printf 'hello\n' >"$root/usr/bin/hello"
  mke2fs -q -F -t ext4 -d "$root" "$1" 8M >/dev/null 2>&1 || fail "mke2fs -d $1"
  rm -rf "$root"
}

# cloned ID...: VMs with a saved record and rootfs (rootfs-clone from $G).
cloned() {
  local id
  for id in "$@"; do rec "$id"; done | rootfs-clone -q --golden "$G" >"$T/cloned.out" ||
    fail "rootfs-clone of $* failed"
}

# no_temps: no temporary file left anywhere in the state folder.
no_temps() {
  local left
  left=$(find "$S" -name '.*.tmp.*' 2>/dev/null || true)
  [ -z "$left" ] || fail "temporary files left: $left"
}
