#!/usr/bin/env bash
# examples/: the agent-inject spec is accepted (agent-inject --dry-run on an
# image, with the kit's agent where the spec expects it); examples/ci.sh
# and scripts/demo are valid bash and say how to use them. (ci.sh runs for
# real in the e2e scenarios 1 and 2.)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../cli/lib.sh"
need_cmd mke2fs
need_cmd jq
src=${VMU_SRC:-$(cd "$here/../.." && pwd)}
for f in examples/vm-agent.spec.json examples/ci.sh examples/operator-session.md examples/README.md; do
  [ -s "$src/$f" ] || fail "$f is missing"
done
bash -n "$src/examples/ci.sh" || fail "examples/ci.sh: syntax"
bash -n "$src/scripts/demo" || fail "scripts/demo: syntax"
"$src/scripts/demo" --help | grep -q -- '--broken' || fail "scripts/demo --help does not mention --broken"
grep -q 'trap finish EXIT' "$src/examples/ci.sh" || fail "examples/ci.sh has no EXIT trap"
jq -e . "$src/examples/vm-agent.spec.json" >/dev/null || fail "the spec is not JSON"

# The spec as a user has it: examples/ beside build/guest-kit (a stand-in
# agent: only the paths and the unit file matter to a dry run).
mkdir -p "$T/tree/examples" "$T/tree/build/guest-kit/agent" "$T/root/etc"
cp "$src/examples/vm-agent.spec.json" "$T/tree/examples/"
printf '#!/bin/sh\nexit 0\n' >"$T/tree/build/guest-kit/agent/vm-agent"
cp "$src/scripts/guest/vm-agent.service" "$T/tree/build/guest-kit/agent/vm-agent.service"
: >"$T/root/etc/environment"
mke2fs -q -F -t ext4 -d "$T/root" "$T/img.ext4" 16M
sha=$(sha256sum "$T/img.ext4")
SESSION_ID=example-secret expect_rc 0 agent-inject --image "$T/img.ext4" --spec "$T/tree/examples/vm-agent.spec.json" --dry-run
stdout_has /opt/vm-agent/vm-agent
stdout_has vm-agent.service
stdout_has SESSION_ID
stdout_has vmutils-reporter
! grep -qF example-secret "$OUT" "$ERR" || fail "the dry run printed the secret"
[ "$(sha256sum "$T/img.ext4")" = "$sha" ] || fail "the dry run changed the image"
# Without SESSION_ID in the environment the spec is refused (agent-inject
# does not echo the name: it could be a value typed without '=').
expect_rc 2 env -u SESSION_ID agent-inject --image "$T/img.ext4" --spec "$T/tree/examples/vm-agent.spec.json" --dry-run
stderr_has 'is not set'
# ci.sh refuses to start without SESSION_ID, saying so, before touching anything.
expect_rc 1 env -u SESSION_ID bash "$src/examples/ci.sh"
stderr_has 'SESSION_ID must be set'
# operator-session.md: every command it shows is a vmutils tool or a
# standard one, and each vmutils tool it names exists.
grep -oE '^\$ [a-z-]+' "$src/examples/operator-session.md" | cut -c3- | sort -u >"$T/cmds"
[ -s "$T/cmds" ] || fail "operator-session.md shows no command"
while read -r c; do command -v "$c" >/dev/null || fail "operator-session.md runs '$c', which is not built or installed"; done <"$T/cmds"
pass "examples: the spec is accepted by agent-inject --dry-run (and refused without SESSION_ID); ci.sh and scripts/demo parse, ci.sh refuses to run without SESSION_ID; the session's commands exist"
