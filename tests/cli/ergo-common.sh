# Helpers for the operator-ergonomics tests (issue 10), sourced after lib.sh.
. "$(dirname "${BASH_SOURCE[0]}")/rootfs-clone-common.sh"

# new_vm ID: a record made by vmnet-alloc --no-tap (no privilege needed).
new_vm() { vmnet-alloc --no-tap -q -p 10.77.0.0/24 --id "$1" >/dev/null || fail "vmnet-alloc --id $1"; }

# saved ID: the saved record.
saved() { cat "$S/vms/$1/record.json"; }

# in_tty COLS CMD: run the shell command CMD on a terminal COLS wide (util-linux
# script); what the terminal showed is in $TTY_OUT, without script's own lines.
TTY_OUT="$T/tty.out"
in_tty() {
  need_cmd script
  local cols=$1
  shift
  script -qec "stty cols $cols rows 40; $*" "$T/typescript" >/dev/null 2>&1 || true
  # Drop the "Script started/done" lines; keep the bytes as the terminal got them.
  sed -e '/^Script started on/d' -e '/^Script done on/d' "$T/typescript" >"$TTY_OUT"
}
