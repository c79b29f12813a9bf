#!/usr/bin/env bash
# The Debian package, end to end: scripts/package builds it from a release
# build (lintian: no error); the .deb has stripped binaries, its dbgsym the
# debug info by build-id; it installs with `apt-get install ./vmutils_*.deb`
# into a fresh Debian 12 root (debootstrap minbase + systemd + man-db, from the
# host's apt mirror; dependencies resolved by apt for real); every tool runs,
# every man page is found, the tmpfiles.d folders have their modes, the unit
# verifies, vmnet-alloc leases an address; a purge leaves only the state folder.
#
# Cached in $VMU_BUILD/package: the release build, the debootstrapped root
# (a tarball) and apt's downloads, so a rerun costs minutes less than the
# first run (docs/packaging.md has the numbers).

# Every mount of this test lives in a private mount namespace: it goes away
# with the test even if the test is killed, so no /dev bind mount can outlive
# it inside the build tree. The trap below unmounts too.
if [ "${VMU_PKG_MNTNS:-}" != 1 ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
  VMU_PKG_MNTNS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
# The test's own files (unpacked packages, logs) in the build tree, not /tmp:
# big, and safe from a clean-up of /tmp during the minutes a cold run takes.
: "${VMU_BUILD:?VMU_BUILD must point at the build tree}"
export TMPDIR="$VMU_BUILD/package/tmp"
mkdir -p "$TMPDIR"
. "$(dirname "$0")/lib.sh"
: "${VMU_SRC:?VMU_SRC must point at the source tree}" "${VMU_TOOLS:?}"
need_root
[ "${VMU_PKG_MNTNS:-}" = 1 ] || skip "needs unshare (util-linux) for a private mount namespace"
for c in debootstrap dpkg-deb lintian readelf chroot tar; do need_cmd "$c"; done
export LC_ALL=C
work="$VMU_BUILD/package"
mkdir -p "$work"
t_start=$SECONDS
phase() { echo "--- $1 (at $((SECONDS - t_start)) s)" >&2; }

# ---- 1. build the package ----------------------------------------------------------------
phase "scripts/package"
"$VMU_SRC/scripts/package" --build-dir "$work/release" --out "$work/out" >"$T/debs" 2>"$T/package.log" || {
  tail -40 "$T/package.log" >&2
  fail "scripts/package failed"
}
grep -E '^(W|E|I): ' "$T/package.log" >&2 || true
deb=$(sed -n 1p "$T/debs")
dbg=$(sed -n 2p "$T/debs")
version=$(sed -n 's/^project(vmutils VERSION \([0-9.]*\).*/\1/p' "$VMU_SRC/CMakeLists.txt")
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "vmutils_${version}_${arch}.deb" ] || fail "package is named $(basename "$deb")"
[ "$(basename "$dbg")" = "vmutils-dbgsym_${version}_${arch}.deb" ] || fail "debug package is named $(basename "$dbg")"

# ---- 2. what is in it --------------------------------------------------------------------
phase "contents"
field() { dpkg-deb -f "$1" "$2"; }
[ "$(field "$deb" Version)" = "$version" ] || fail "Version is $(field "$deb" Version), not $version"
depends=$(field "$deb" Depends)
for lib in libc6 libstdc++6 libcurl4 libext2fs2 libssl3 libfmt9; do
  [[ ", $depends" == *", $lib "* || ", $depends" == *", $lib,"* ]] || fail "Depends lacks $lib (shlibdeps): $depends"
done
recommends=$(field "$deb" Recommends)
for p in qemu-system-x86 dnsmasq-base e2fsprogs; do
  [[ $recommends == *"$p"* ]] || fail "Recommends lacks $p: $recommends"
done
[ "$(field "$dbg" Package)" = vmutils-dbgsym ] || fail "debug package is $(field "$dbg" Package)"
[[ $(field "$dbg" Depends) == "vmutils (= $version)" ]] || fail "dbgsym Depends: $(field "$dbg" Depends)"

x="$T/deb"
dpkg-deb -x "$deb" "$x"
dpkg-deb -x "$dbg" "$T/dbg"
want=(usr/share/doc/vmutils/copyright usr/share/doc/vmutils/changelog.gz usr/share/doc/vmutils/README.md
  usr/share/doc/vmutils/troubleshooting.md
  usr/lib/tmpfiles.d/vmutils.conf lib/systemd/system/vmutils-dhcp@.service usr/libexec/vmutils/vmutils-dhcp
  usr/share/man/man8/vmutils-dhcp.8.gz usr/share/man/man7/vmutils.7.gz)
for tool in $VMU_TOOLS; do
  want+=("usr/bin/$tool" "usr/share/man/man1/$tool.1.gz" "usr/share/bash-completion/completions/$tool"
    "usr/share/zsh/vendor-completions/_$tool" "usr/share/fish/vendor_completions.d/$tool.fish")
done
for f in "${want[@]}"; do [ -f "$x/$f" ] || fail "the package lacks /$f"; done
head -1 "$x/usr/share/doc/vmutils/copyright" | grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
  fail "copyright is not in Debian's machine-readable format"
zcat "$x/usr/share/doc/vmutils/changelog.gz" | head -1 | grep -qF "vmutils ($version)" || fail "changelog.gz lacks $version"

# Stripped binaries; their debug info in the dbgsym package, by build-id.
sizes=""
for tool in $VMU_TOOLS; do
  b="$x/usr/bin/$tool"
  sections=$(readelf -SW "$b")
  if grep -qE ' \.(symtab|debug_info) ' <<<"$sections"; then fail "/usr/bin/$tool is not stripped"; fi
  id=$(readelf -n "$b" | awk '/Build ID:/ { print $3 }')
  [ -n "$id" ] || fail "/usr/bin/$tool has no build-id"
  d="$T/dbg/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug"
  [ -f "$d" ] || fail "no debug file for /usr/bin/$tool (build-id $id) in the dbgsym package"
  readelf -SW "$d" 2>/dev/null | grep -q ' \.debug_info ' || fail "$d has no .debug_info"
  sizes+=" $tool=$(($(stat -c %s "$b") / 1024))K/$(($(stat -c %s "$d") / 1024 / 1024))M"
done
echo "stripped binary / debug file:$sizes" >&2

# ---- 3. a fresh Debian 12 root, cached as a tarball ----------------------------------------
phase "debian 12 root"
mirror=$("$VMU_SRC/scripts/debian-mirror" bookworm) || skip "no apt source serving bookworm main to debootstrap from"
include=man-db,systemd
recipe="1 bookworm minbase $include $mirror $(dpkg-query -W -f='${Version}' debootstrap)"
cache="$work/debian12"
mkdir -p "$cache/debs" "$cache/apt-archives/partial"
if [ ! -f "$cache/root.tar" ] || [ "$(cat "$cache/recipe" 2>/dev/null)" != "$recipe" ]; then
  rm -rf --one-file-system "$cache/build" "$cache/root.tar"
  debootstrap --variant=minbase --include="$include" --cache-dir="$cache/debs" \
    bookworm "$cache/build" "$mirror" >"$T/debootstrap.log" 2>&1 || {
    tail -20 "$T/debootstrap.log" >&2
    fail "debootstrap bookworm from $mirror failed"
  }
  rm -rf "$cache/build"/var/cache/apt/archives/*.deb
  tar -C "$cache/build" --numeric-owner -cf "$cache/root.tar.tmp" .
  mv -f "$cache/root.tar.tmp" "$cache/root.tar"
  printf '%s\n' "$recipe" >"$cache/recipe"
  rm -rf --one-file-system "$cache/build"
fi
root="$work/root"
rm -rf --one-file-system "$root"
mkdir -p "$root"
on_exit "rm -rf --one-file-system '$root'"
tar -C "$root" --numeric-owner -xf "$cache/root.tar"

# What the chroot needs: /proc, /dev, a tmpfs /run as on a booted host, and
# apt's download cache kept across runs. Unmounted on exit, even on failure.
mounts=()
mnt() { mount "$@" && mounts=("${!#}" "${mounts[@]}"); }
unmount_all() { local m; for m in "${mounts[@]}"; do umount "$m" || umount -l "$m"; done; }
on_exit unmount_all
mnt -t proc proc "$root/proc"
mnt --bind /dev "$root/dev"
mnt -t tmpfs -o mode=0755 tmpfs "$root/run"
mnt --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
# A clean environment: nothing of the test's (VMUTILS_STATE_DIR...) leaks in.
in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# ---- 4. install with apt ------------------------------------------------------------------
phase "apt-get install ./$(basename "$deb")"
in_root apt-get update -qq >"$T/apt.log" 2>&1 || { cat "$T/apt.log" >&2; fail "apt-get update in the root failed"; }
# Every path of the root but the volatile ones (apt, dpkg, logs, caches), with
# type, mode and owner: taken before the install and after the purge.
snapshot() {
  (cd "$root" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./tmp -o -path ./var/lib/apt \
    -o -path ./var/lib/dpkg -o -path ./var/cache -o -path ./var/log -o -path ./var/lib/systemd \) -prune \
    -o -printf '/%P %y %m %u\n' | sort)
  (cd "$root/run" && find . -mindepth 1 -printf '/run/%P %y %m %u\n' | sort)
}
snapshot >"$T/before"
cp "$deb" "$root/tmp/"
in_root apt-get install -y --no-install-recommends "/tmp/$(basename "$deb")" >"$T/apt.log" 2>&1 || {
  tail -30 "$T/apt.log" >&2
  fail "apt-get install ./$(basename "$deb") failed"
}
# The Recommends and Suggests exist in Debian 12. A real install takes the
# Recommends too; here they are left out to keep the test short (with their
# own Recommends they are 363 packages, 258 MB, measured in this root).
for p in $(field "$deb" Recommends | tr -d ',') $(field "$deb" Suggests | tr -d ','); do
  cand=$(in_root apt-cache policy "$p" | awk '/Candidate:/ { print $2 }')
  [ -n "$cand" ] && [ "$cand" != "(none)" ] || fail "Recommends/Suggests '$p' has no candidate in Debian 12"
done

# ---- 5. what the operator gets ------------------------------------------------------------
phase "checks in the root"
for tool in $VMU_TOOLS; do
  got=$(in_root "$tool" --version) || fail "$tool --version failed in the root"
  [[ $got == *"$version"* ]] || fail "$tool --version says '$got'"
  in_root man -w "$tool" >/dev/null || fail "man -w $tool finds no page"
done
in_root man -w 8 vmutils-dhcp >/dev/null || fail "man -w 8 vmutils-dhcp finds no page"
in_root man -w 7 vmutils >/dev/null || fail "man -w 7 vmutils finds no page"
mode_is() { # PATH MODE: a folder with that mode, owned by root
  local got
  got=$(stat -c '%F %a %U:%G' "$root$1") || fail "postinst did not create $1"
  [ "$got" = "directory $2 root:root" ] || fail "$1 is '$got', want 'directory $2 root:root'"
}
mode_is /var/lib/vmutils 700
mode_is /run/vmutils 700
mode_is /run/vmutils-dhcp 755
mode_is /run/vmutils-dhcp/hosts 755
# (systemd-analyze leaves /run/systemd behind, which is not the package's.)
[ -e "$root/run/systemd" ] || drop_run_systemd=1
in_root systemd-analyze verify --man=no vmutils-dhcp@fcbr0.service >"$T/verify" 2>&1 || {
  cat "$T/verify" >&2
  fail "systemd-analyze verify vmutils-dhcp@fcbr0.service"
}
if grep -v '^$' "$T/verify" | grep -q .; then cat "$T/verify" >&2; fail "systemd-analyze verify warns"; fi
[ -z "${drop_run_systemd:-}" ] || rm -rf "$root/run/systemd"
in_root /usr/libexec/vmutils/vmutils-dhcp >/dev/null 2>&1 && fail "vmutils-dhcp without a bridge succeeded"
in_root vmnet-alloc --no-tap --pool 10.99.0.0/24 --id vm-pkg >"$OUT" || fail "vmnet-alloc --no-tap failed in the root"
[ "$(jq -r .net.ip "$OUT")" = 10.99.0.2 ] || fail "vmnet-alloc leased $(jq -r .net.ip "$OUT")"
[ -f "$root/var/lib/vmutils/vms/vm-pkg/record.json" ] || fail "no record in /var/lib/vmutils"
in_root vmnet-alloc list | grep -q vm-pkg || fail "vmnet-alloc list lacks vm-pkg"

# ---- 6. purge -----------------------------------------------------------------------------
phase "apt-get purge --autoremove vmutils"
in_root apt-get purge -y --autoremove vmutils >"$T/apt.log" 2>&1 || { tail -30 "$T/apt.log" >&2; fail "purge failed"; }
in_root dpkg-query -W -f='${db:Status-Status}' vmutils 2>/dev/null | grep -qv not-installed &&
  fail "dpkg still knows vmutils after the purge"
rm -f "$root/tmp/$(basename "$deb")"
snapshot >"$T/after"
left=$(comm -13 "$T/before" "$T/after" | grep -v '^/var/lib/vmutils[/ ]' || true)
gone=$(comm -23 "$T/before" "$T/after" || true)
[ -z "$left" ] || fail "the purge left: $left"
[ -z "$gone" ] || fail "install + purge removed or changed: $gone"
[ -f "$root/var/lib/vmutils/vms/vm-pkg/record.json" ] || fail "the purge removed the state folder"
phase "done"
pass "vmutils_${version}_${arch}.deb: built, installed with apt into Debian 12, ran, purged"
