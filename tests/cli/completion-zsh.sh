#!/usr/bin/env bash
# zsh completion, for real: an interactive zsh on a pseudo-terminal (zpty)
# with compinit and our completion functions, TAB pressed after the line
# (zsh-complete.zsh collects what the completion would offer).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ergo-common.sh"
need_cmd zsh
zsh -c 'zmodload zsh/zpty' 2>/dev/null || skip "zsh has no zsh/zpty module"
here=$(cd "$(dirname "$0")" && pwd)
new_vm vm-one
new_vm vm-two
other="$T/other-state"
VMUTILS_STATE_DIR="$other" vmnet-alloc --no-tap -q -p 10.79.0.0/24 --id vm-elsewhere >/dev/null
mkdir -p "$T/files/my dir"
: >"$T/files/my file.img"
: >"$T/files/myimage.ext4"

comp() { (cd "$T/files" && timeout 30 zsh "$here/zsh-complete.zsh" "$VMU_SRC/completions/zsh" "$1") | sort -u; }
want() { [ "$2" = "$3" ] || fail "$1: got [$(echo $2)], want [$(echo $3)]"; }

# The harness itself must see something, or every check below could pass empty.
[ -n "$(comp 'vmnet-alloc ')" ] || fail "zsh offered nothing at all: the harness is broken"
want "subcommands" "$(comp 'vmnet-alloc ')" "$(printf '%s\n' alloc gc list release)"
want "--journal-console-level" "$(comp 'fc-launch --journal-console-level ')" \
  "$(printf '%s\n' alert crit debug emerg err info notice warning)"
want "--vmm" "$(comp 'fc-launch --vmm ')" "$(printf 'firecracker\nqemu')"
want "--id" "$(comp 'fc-launch --id ')" "$(printf 'vm-one\nvm-two')"
want "--state-dir then --id" "$(comp "fc-launch --state-dir $other --id ")" "vm-elsewhere"
want "release" "$(comp 'vmnet-alloc release ')" "$(printf 'vm-one\nvm-two')"
want "ls IMAGE" "$(comp 'rootfs-inspect ls my')" "$(printf '%s\n' 'my dir' 'my file.img' myimage.ext4)"
want "--copy SRC" "$(comp 'agent-inject --copy myi')" "myimage.ext4"
want "DIR option" "$(comp 'vmnet-alloc --dhcp-hostsdir my')" "my dir"
got=$(comp 'rootfs-inspect ls --')
grep -qx -- --recursive <<<"$got" || fail "ls lacks --recursive: $got"
! grep -qx -- --unit <<<"$got" || fail "ls offers check's --unit"
got=$(comp 'vmnet-alloc list --')
grep -qx -- --pool <<<"$got" || fail "list lacks --pool"
! grep -qx -- --count <<<"$got" || fail "list offers --count"
pass "zsh completes ids, files, folders, values and options"
