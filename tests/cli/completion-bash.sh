#!/usr/bin/env bash
# bash completion, for real: each tool's script sourced in bash and its
# function run on COMP_WORDS, as readline would. VM ids come from the
# state folder (--state-dir as typed, else $VMUTILS_STATE_DIR); host files
# for --copy SRC and IMAGE, folders with a trailing '/', names with spaces
# kept whole; folders only for DIR options; enumerated values; each option
# once; a subcommand offers its own options, not another's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ergo-common.sh"
new_vm vm-one
new_vm vm-two
other="$T/other-state"
VMUTILS_STATE_DIR="$other" vmnet-alloc --no-tap -q -p 10.79.0.0/24 --id vm-elsewhere >/dev/null
mkdir -p "$T/files/my dir" "$T/files/mydir2"
: >"$T/files/my file.img"
: >"$T/files/myimage.ext4"

# comp TOOL WORD...: the completions of the last WORD (WORDs start with the
# tool's name, as COMP_WORDS do), one per line.
comp() {
  local tool=$1
  shift
  bash -c '
    . "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _'"${tool//-/_}"' 2>/dev/null
    printf "%s\n" "${COMPREPLY[@]}"' _ "$VMU_SRC/completions/bash/$tool" "$@" | sort
}
want() { # want WHAT GOT EXPECTED
  [ "$2" = "$3" ] || fail "$1: got [$(echo $2)], want [$(echo $3)]"
}

want "--journal-console-level" "$(comp fc-launch fc-launch --journal-console-level '')" \
  "$(printf '%s\n' alert crit debug emerg err info notice warning)"
want "--vmm q" "$(comp fc-launch fc-launch --vmm q)" "qemu"
want "--id" "$(comp fc-launch fc-launch --id '')" "$(printf 'vm-one\nvm-two')"
want "--id v" "$(comp agent-inject agent-inject --id vm-o)" "vm-one"
want "--state-dir then --id" "$(comp fc-launch fc-launch --state-dir "$other" --id '')" "vm-elsewhere"
want "release" "$(comp vmnet-alloc vmnet-alloc release '')" "$(printf 'vm-one\nvm-two')"
want "release, 2nd id" "$(comp vmnet-alloc vmnet-alloc release vm-one vm-t)" "vm-two"
want "subcommands" "$(comp vmnet-alloc vmnet-alloc '')" "$(printf '%s\n' alloc gc list release)"
# Host files: folders end in '/', a name with a space is one word.
want "--copy SRC" "$(comp agent-inject agent-inject --copy "$T/files/my")" \
  "$(printf '%s\n' "$T/files/my dir/" "$T/files/my file.img" "$T/files/mydir2/" "$T/files/myimage.ext4")"
want "ls IMAGE" "$(comp rootfs-inspect rootfs-inspect ls "$T/files/myi")" "$T/files/myimage.ext4"
want "check IMAGE" "$(comp rootfs-inspect rootfs-inspect check --unit x "$T/files/my ")" \
  "$(printf '%s\n' "$T/files/my dir/" "$T/files/my file.img")"
want "diff B" "$(comp rootfs-inspect rootfs-inspect diff "$T/files/myimage.ext4" "$T/files/myi")" "$T/files/myimage.ext4"
want "DIR option" "$(comp vmnet-alloc vmnet-alloc --dhcp-hostsdir "$T/files/my")" \
  "$(printf '%s\n' "$T/files/my dir/" "$T/files/mydir2/")"
# Options: each once, a subcommand's own and the common ones, not another's.
for tool in $VMU_TOOLS; do
  dup=$(comp "$tool" "$tool" -- | uniq -d)
  [ -z "$dup" ] || fail "$tool offers twice: $dup"
done
got=$(comp rootfs-inspect rootfs-inspect ls --)
[[ $(grep -c -- '^--help$' <<<"$got") == 1 ]] || fail "ls: --help not once"
grep -qx -- --recursive <<<"$got" || fail "ls lacks --recursive"
! grep -qx -- --unit <<<"$got" || fail "ls offers check's --unit"
got=$(comp vmnet-alloc vmnet-alloc list --)
grep -qx -- --pool <<<"$got" || fail "list lacks --pool"
! grep -qx -- --count <<<"$got" || fail "list offers --count"
pass "bash completes ids, files, folders, values and options"
