# Image helpers for the agent-inject CLI tests (sourced), on top of lib.sh.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AI="$VMU_BIN/agent-inject"
[ -x "$AI" ] || fail "no agent-inject binary at $AI"
for t in mke2fs e2fsck debugfs jq sha256sum flock; do
  command -v "$t" >/dev/null || skip "$t is not installed"
done

# The image flavours the issue asks for: Debian's default ext4, inline_data,
# 1k blocks, 4k blocks, and ext2.
FLAVOURS=("ext4" "ext4-inline" "ext4-1k" "ext4-4k" "ext2")

# mkimg FLAVOUR IMAGE [SIZE] : an image filled from $T/root (made if absent).
mkimg() {
  local flavour=$1 img=$2 size=${3:-32M}
  if [ ! -d "$T/root" ]; then
    mkdir -p "$T/root/etc/systemd/system" "$T/root/usr/bin" "$T/root/tmp"
    printf 'PATH=/usr/local/bin:/usr/bin:/bin\nSESSION_ID=old\nLANG=C.UTF-8\n' >"$T/root/etc/environment"
    chmod 0640 "$T/root/etc/environment"
    echo "debian" >"$T/root/etc/hostname"
  fi
  local opts=()
  case $flavour in
    ext4) opts=(-t ext4) ;;
    ext4-inline) opts=(-t ext4 -O inline_data) ;;
    ext4-1k) opts=(-t ext4 -b 1024) ;;
    ext4-4k) opts=(-t ext4 -b 4096) ;;
    ext2) opts=(-t ext2) ;;
    *) fail "unknown flavour $flavour" ;;
  esac
  mke2fs -q -F "${opts[@]}" -d "$T/root" "$img" "$size" >/dev/null 2>&1 || fail "mke2fs $flavour"
}

fsck_clean() {
  local out
  out=$(e2fsck -fn "$1" 2>&1) || { echo "$out" >&2; fail "e2fsck -fn $1 is not clean"; }
}

# dbg IMAGE CMD : debugfs read-only, command output only.
dbg() { debugfs -R "$2" "$1" 2>/dev/null; }

# stat_line IMAGE PATH : "mode uid gid size" as debugfs reports them.
stat_line() {
  dbg "$1" "stat $2" | awk '/^Inode:/{m=$6} /^User:/{u=$2; g=$4; s=$NF} END{print m, u, g, s}'
}
