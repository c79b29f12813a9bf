# Control characters from records and arguments (newline, ESC, an OSC title
# sequence, C1 CSI) reach stderr quoted (\n, \x1b), never raw; a value typed
# without KEY= is never echoed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/harden-common.sh"

raw_controls() { LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]\|\xc2[\x80-\x9f]' "$1"; }

# From a record: rootfs.path with an OSC sequence and a newline.
rec vm-x1 '"rootfs":{"path":"/nope\u001b]0;pwned\u0007\nforged: line\u009b31m"}' >"$T/in"
expect_rc 2 agent-inject --env K=v <"$T/in"
raw_controls "$ERR" && { od -c "$ERR" | head >&2; fail "raw control characters on stderr (record)"; }
stderr_has '\x1b]0;pwned\x07\nforged: line\xc2\x9b31m'
grep -q '^forged' "$ERR" && fail "a record forged a line on stderr"
pass "control characters from a record are quoted"

# From an argument.
expect_rc 2 rootfs-clone --golden $'/nope\e[2J\rx' <"$T/in"
raw_controls "$ERR" && fail "raw control characters on stderr (argument)"
stderr_has '\x1b[2J\rx'
pass "control characters from an argument are quoted"

# Invalid UTF-8 is quoted byte by byte; valid UTF-8 stays readable.
expect_rc 2 rootfs-clone --golden $'/n\xffé' <"$T/in"
stderr_has '/n\xffé'
pass "bytes that are not UTF-8 are quoted, UTF-8 kept"

# --env without '=': the word may be a secret, it is not echoed.
G="$T/golden.ext4"
small_golden "$G"
cloned vm-x2
expect_rc 2 agent-inject --env supersecret123 --id vm-x2
grep -q supersecret123 "$ERR" "$OUT" && fail "the bare --env word was echoed: $(cat "$ERR")"
stderr_has "not shown"
expect_rc 2 agent-inject --env 'hunter2!x' --id vm-x2
grep -q 'hunter2' "$ERR" "$OUT" && fail "an invalid bare --env word was echoed: $(cat "$ERR")"
pass "a bare --env word is never echoed"
