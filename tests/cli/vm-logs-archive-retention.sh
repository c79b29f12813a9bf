#!/usr/bin/env bash
# Retention: --keep N and --max-bytes SIZE prune the oldest archives of the
# state's archive folder after the new one is made — only files named like
# archives; other files there are never touched, and the new archive stays
# even when alone it is over the limit. --out elsewhere archives there.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/evidence-lib.sh"
fake_vm vm-ret 999999 1
mkdir -p "$S/archive"
for t in 20250101T000000Z 20250102T000000Z 20250103T000000Z; do
  head -c 5000 /dev/urandom >"$S/archive/vm-old-$t.tar.gz"
done
echo "notes" >"$S/archive/README"
head -c 100 /dev/urandom >"$S/archive/vm-old-backup.tar.gz"
expect_rc 0 vm-logs-archive --id vm-ret --keep 2
new=$(basename "$(json "$OUT" 'j["archive"]["path"]')")
stderr_has "removed old archive $S/archive/vm-old-20250101T000000Z.tar.gz"
stderr_has "removed old archive $S/archive/vm-old-20250102T000000Z.tar.gz"
[ -f "$S/archive/vm-old-20250103T000000Z.tar.gz" ] || fail "--keep 2 removed one too many"
[ -f "$S/archive/$new" ] || fail "the new archive was removed"
[ -f "$S/archive/README" ] && [ -f "$S/archive/vm-old-backup.tar.gz" ] || fail "a file that is no archive was removed"

expect_rc 0 vm-logs-archive --id vm-ret --max-bytes 1K
newer=$(basename "$(json "$OUT" 'j["archive"]["path"]')")
[ -f "$S/archive/$newer" ] || fail "the archive just made was pruned"
[ "$(ls "$S/archive" | sort | tr '\n' ' ')" = "$(printf '%s\n' README vm-old-backup.tar.gz "$newer" | sort | tr '\n' ' ')" ] \
  || fail "--max-bytes left: $(ls "$S/archive")"

expect_rc 0 vm-logs-archive --id vm-ret --out "$T/elsewhere"
[ -f "$(json "$OUT" 'j["archive"]["path"]')" ] && [ "$(dirname "$(json "$OUT" 'j["archive"]["path"]')")" = "$T/elsewhere" ] \
  || fail "--out"
expect_rc 2 vm-logs-archive --id vm-ret --out "$T/elsewhere" --keep 1
stderr_has "prune $S/archive only"
pass "retention: --keep, --max-bytes, only archives, never the new one; --out"
