# Shared helpers for the CLI tests (sourced). Each test is one behaviour, run
# by CTest with VMU_BIN pointing at the built tools.
set -euo pipefail

: "${VMU_BIN:?VMU_BIN must point at the folder of built tools}"
PATH="$VMU_BIN:$PATH"
export NO_COLOR=1

# skip WHY: exit with CTest's SKIP_RETURN_CODE (77) — except when
# VMUTILS_NO_SKIP=1 (CI), where a test that cannot run is a failure.
skip() {
  if [ "${VMUTILS_NO_SKIP:-0}" = 1 ]; then
    echo "FAIL (skip not allowed here, VMUTILS_NO_SKIP=1): $*" >&2
    exit 1
  fi
  echo "SKIP: $*" >&2
  exit 77
}
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || skip "needs $1"; }

# A private temp folder removed on exit; $T is it, $S a state folder in it.
T=$(mktemp -d "${TMPDIR:-/tmp}/vmu-test.XXXXXX")
S="$T/state"
export VMUTILS_STATE_DIR="$S" VMUTILS_RUN_DIR="$T/run"
_cleanups=()
on_exit() { _cleanups+=("$1"); }
_run_cleanups() {
  local rc=$?
  local i
  for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[i]}" || true; done
  rm -rf "$T"
  exit $rc
}
trap _run_cleanups EXIT

# make_netns: a fresh network namespace for this test, deleted on exit
# (with every TAP and bridge in it). Sets $NS; run commands with in_ns.
make_netns() {
  need_root
  need_cmd ip
  NS="vmu-t$$-$RANDOM"
  ip netns add "$NS" 2>"$T/netns.err" || skip "cannot create a network namespace: $(cat "$T/netns.err")"
  on_exit "ip netns delete '$NS'"
  ip netns exec "$NS" ip link set lo up
}
in_ns() { ip netns exec "$NS" "$@"; }

# expect_rc WANT CMD...: run CMD, capture stdout/stderr in $OUT/$ERR files.
OUT="$T/out" ERR="$T/err"
expect_rc() {
  local want=$1 rc=0
  shift
  "$@" >"$OUT" 2>"$ERR" || rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "--- stdout" >&2; cat "$OUT" >&2; echo "--- stderr" >&2; cat "$ERR" >&2
    fail "'$*' exited $rc, expected $want"
  fi
}
# stderr_has TEXT: the last command's stderr contains TEXT.
stderr_has() { grep -qF -- "$1" "$ERR" || { cat "$ERR" >&2; fail "stderr lacks '$1'"; }; }
stdout_has() { grep -qF -- "$1" "$OUT" || { cat "$OUT" >&2; fail "stdout lacks '$1'"; }; }
