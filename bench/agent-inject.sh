#!/usr/bin/env bash
# Benchmark: agent-inject vs the same edit through `debugfs -w -f script`
# and through guestfish (libguestfs), measured in the same run.
# The edit: a 60 MiB file (0755), a systemd unit enabled in
# multi-user.target.wants, and one key merged into /etc/environment.
# Usage: bench/agent-inject.sh [BUILD_DIR]   (default build/release, else build/dev)
# Prints one line per method (median of RUNS) and the ratios. Not a test.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-}
if [ -z "$bin" ]; then
  for d in "$here/build/release" "$here/build/dev"; do [ -x "$d/tools/agent-inject" ] && { bin=$d; break; }; done
fi
bin=$(cd "$bin" && pwd)
AI="$bin/tools/agent-inject"
[ -x "$AI" ] || { echo "no agent-inject under '$bin' (build first)" >&2; exit 1; }
RUNS=${RUNS:-5}

T=$(mktemp -d "${TMPDIR:-/tmp}/agent-inject-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT

# A golden with a little system-like content, 256 MiB, Debian's default ext4.
mkdir -p "$T/root/etc/systemd/system" "$T/root/usr/bin" "$T/root/usr/lib"
printf 'PATH=/usr/local/bin:/usr/bin:/bin\nLANG=C.UTF-8\n' >"$T/root/etc/environment"
for i in $(seq 1 200); do head -c 20000 /dev/urandom >"$T/root/usr/lib/lib$i.so"; done
mke2fs -q -F -t ext4 -d "$T/root" "$T/golden.ext4" 256M
head -c $((60 * 1024 * 1024)) /dev/urandom >"$T/server"
cat >"$T/vm-agent.service" <<'U'
[Unit]
Description=agent
[Service]
ExecStart=/opt/agent/server
EnvironmentFile=/etc/environment
[Install]
WantedBy=multi-user.target
U

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
check() { e2fsck -fn "$1" >/dev/null 2>&1 || { echo "e2fsck failed after $2" >&2; exit 1; }; }

# The two methods alternate within each round, so load on the machine hits both alike.
run_ai() {
  cp --sparse=always "$T/golden.ext4" "$T/clone.ext4"; sync
  local s e
  s=$(now_ms)
  SESSION_ID=bench "$AI" --image "$T/clone.ext4" --copy "$T/server:/opt/agent/server:0755" \
    --unit "$T/vm-agent.service" --env SESSION_ID >/dev/null
  e=$(now_ms); echo $((e - s)) >>"$T/t-ai"
  check "$T/clone.ext4" agent-inject
}
# debugfs -w -f script: the same edit, env merged on the host from a dump.
run_dbg() {
  cp --sparse=always "$T/golden.ext4" "$T/clone.ext4"; sync
  local s e
  s=$(now_ms)
  debugfs -R "dump /etc/environment $T/env.old" "$T/clone.ext4" >/dev/null 2>&1
  { grep -v '^SESSION_ID=' "$T/env.old" || true; echo "SESSION_ID=bench"; } >"$T/env.new"
  cat >"$T/script" <<S
mkdir /opt
mkdir /opt/agent
write $T/server /opt/agent/server
sif /opt/agent/server mode 0100755
write $T/vm-agent.service /etc/systemd/system/vm-agent.service
mkdir /etc/systemd/system/multi-user.target.wants
symlink /etc/systemd/system/multi-user.target.wants/vm-agent.service /etc/systemd/system/vm-agent.service
rm /etc/environment
write $T/env.new /etc/environment
S
  debugfs -w -f "$T/script" "$T/clone.ext4" >/dev/null 2>&1
  e=$(now_ms); echo $((e - s)) >>"$T/t-dbg"
  check "$T/clone.ext4" debugfs
}
: >"$T/t-ai"; : >"$T/t-dbg"
for r in $(seq 1 "$RUNS"); do
  if [ $((r % 2)) = 1 ]; then run_ai; run_dbg; else run_dbg; run_ai; fi
done
ai=$(median <"$T/t-ai")
dbg=$(median <"$T/t-dbg")

echo "agent-inject:      ${ai} ms (median of $RUNS)"
echo "debugfs -w script: ${dbg} ms (median of $RUNS)"
awk -v a="$ai" -v d="$dbg" 'BEGIN{ if (a > 0) printf "ratio debugfs/agent-inject: %.2fx\n", d / a }'

# guestfish (libguestfs): one run, or the exact failure.
if command -v guestfish >/dev/null; then
  cp --sparse=always "$T/golden.ext4" "$T/clone.ext4"; sync
  s=$(now_ms)
  if guestfish --rw -a "$T/clone.ext4" -m /dev/sda >"$T/gf.out" 2>&1 <<G
mkdir-p /opt/agent
upload $T/server /opt/agent/server
chmod 0755 /opt/agent/server
upload $T/vm-agent.service /etc/systemd/system/vm-agent.service
mkdir-p /etc/systemd/system/multi-user.target.wants
ln-sf /etc/systemd/system/vm-agent.service /etc/systemd/system/multi-user.target.wants/vm-agent.service
write-append /etc/environment "SESSION_ID=bench\n"
G
  then
    e=$(now_ms); gf=$((e - s))
    check "$T/clone.ext4" guestfish
    echo "guestfish:         ${gf} ms (1 run)"
    awk -v a="$ai" -v g="$gf" 'BEGIN{ if (a > 0) printf "ratio guestfish/agent-inject: %.1fx\n", g / a }'
  else
    echo "guestfish: FAILED after $(( $(now_ms) - s )) ms:"; sed 's/^/  /' "$T/gf.out" | tail -15
  fi
  if command -v virt-customize >/dev/null; then
    s=$(now_ms)
    if virt-customize -a "$T/clone.ext4" --upload "$T/server:/opt/agent/server" >"$T/vc.out" 2>&1; then
      echo "virt-customize (upload only): $(( $(now_ms) - s )) ms"
    else
      echo "virt-customize: FAILED after $(( $(now_ms) - s )) ms:"; sed 's/^/  /' "$T/vc.out" | tail -8
    fi
  fi
else
  echo "guestfish: not installed (apt-get install libguestfs-tools)"
fi
