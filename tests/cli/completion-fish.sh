#!/usr/bin/env bash
# fish completion, for real: `complete -C` in fish with each tool's script.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ergo-common.sh"
need_cmd fish
new_vm vm-one
new_vm vm-two
other="$T/other-state"
VMUTILS_STATE_DIR="$other" vmnet-alloc --no-tap -q -p 10.79.0.0/24 --id vm-elsewhere >/dev/null
mkdir -p "$T/files/my dir"
: >"$T/files/my file.img"
: >"$T/files/myimage.ext4"

# comp TOOL LINE: the completions fish offers for LINE, words only, sorted.
comp() {
  fish -c 'source $argv[1]; complete -C $argv[2]' "$VMU_SRC/completions/fish/$1.fish" "$2" |
    cut -f1 | sort
}
want() { [ "$2" = "$3" ] || fail "$1: got [$(echo $2)], want [$(echo $3)]"; }

want "--journal-console-level" "$(comp fc-launch 'fc-launch --journal-console-level ')" \
  "$(printf '%s\n' alert crit debug emerg err info notice warning)"
want "--vmm" "$(comp fc-launch 'fc-launch --vmm ')" "$(printf 'firecracker\nqemu')"
want "--id" "$(comp fc-launch 'fc-launch --id ')" "$(printf 'vm-one\nvm-two')"
want "--state-dir then --id" "$(comp fc-launch "fc-launch --state-dir $other --id ")" "vm-elsewhere"
want "release" "$(comp vmnet-alloc 'vmnet-alloc release ')" "$(printf 'vm-one\nvm-two')"
want "ls IMAGE" "$(comp rootfs-inspect "rootfs-inspect ls $T/files/my")" \
  "$(printf '%s\n' "$T/files/my dir/" "$T/files/my file.img" "$T/files/myimage.ext4")"
want "--copy SRC" "$(comp agent-inject "agent-inject --copy $T/files/myi")" "$T/files/myimage.ext4"
want "DIR option" "$(comp vmnet-alloc "vmnet-alloc --dhcp-hostsdir $T/files/my")" "$T/files/my dir/"
got=$(comp rootfs-inspect 'rootfs-inspect ls --')
[[ $(grep -c -- '^--help$' <<<"$got") == 1 ]] || fail "ls: --help not once"
! grep -qx -- --unit <<<"$got" || fail "ls offers check's --unit"
got=$(comp vmnet-alloc 'vmnet-alloc list --')
grep -qx -- --pool <<<"$got" || fail "list lacks --pool"
! grep -qx -- --count <<<"$got" || fail "list offers --count"
# No files where a tool takes none.
[ -z "$(comp fc-launch 'fc-launch ')" ] || fail "fc-launch offers files for a bare word"
pass "fish completes ids, files, folders, values and options"
