# Helpers for the rootfs-clone tests (sourced after lib.sh): small goldens
# made by mke2fs -d, records written by hand.
PATH="$PATH:/usr/sbin:/sbin"
need_cmd mke2fs
need_cmd debugfs
need_cmd e2fsck

# rec ID: one pipeline record.
rec() { printf '{"v":1,"id":"%s","created":"2026-11-26T00:00:00Z"}\n' "$1"; }

# make_golden PATH [SIZE] [mke2fs options...]: an ext4 image with some data,
# a sparse file, /etc/hostname and a golden /etc/machine-id (mode 0444).
make_golden() {
  local img=$1 size=${2:-48M} root="$T/golden-root.$RANDOM"
  shift 2 || shift $#
  mkdir -p "$root/etc" "$root/usr/bin" "$root/var/lib"
  head -c 6M /dev/urandom >"$root/usr/bin/big"
  printf 'golden-host\n' >"$root/etc/hostname"
  printf '0123456789abcdef0123456789abcdef\n' >"$root/etc/machine-id"
  chmod 0444 "$root/etc/machine-id"
  truncate -s 3M "$root/var/lib/sparse"
  printf 'tail\n' >>"$root/var/lib/sparse"
  mke2fs -q -F -t ext4 "$@" -d "$root" "$img" "$size" >/dev/null 2>&1 ||
    fail "mke2fs -d into $img failed"
  rm -rf "$root"
}

# The machine-id rootfs-clone derives for a VM id.
derived_id() { printf 'vmutils-machine-id:%s' "$1" | sha256sum | cut -c1-32; }

# dbg IMAGE CMD: debugfs, read-only, quiet.
dbg() { debugfs -R "$2" "$1" 2>/dev/null; }

# fsck_clean IMAGE
fsck_clean() { e2fsck -fn "$1" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out" >&2; fail "e2fsck -fn $1 not clean"; }; }

# no_temps DIR: no temporary clone left in the VM folder.
no_temps() {
  local left
  left=$(find "$1" -maxdepth 1 -name '.rootfs.ext4.tmp.*' 2>/dev/null || true)
  [ -z "$left" ] || fail "temporary files left: $left"
}

# clone_one WANT ID ARGS...: one record for ID through rootfs-clone ARGS,
# expecting exit WANT ($OUT/$ERR hold its output).
clone_one() {
  local want=$1 id=$2
  shift 2
  rec "$id" >"$T/in.$id"
  expect_rc "$want" rootfs-clone "$@" <"$T/in.$id"
}
