#!/usr/bin/env bash
# What the toolkit itself adds to one VM's life, the guest's boot and the
# clone's data copy excluded: each tool of the pipeline
#   vmnet-alloc --no-tap | rootfs-clone | agent-inject | fc-launch
# timed on its own (wall, and CPU = user + sys of the tool), with the VMM
# being tests/fake-firecracker (spawned detached by fc-launch, so its own
# start-up is not counted) and a 16 MiB golden (so the copy is negligible).
# Baseline in the same run: the same four programs' --version (process
# start-up alone).
#   bench/overhead.sh [BUILD_DIR] [RUNS]      default build/release 5
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$top/build/release}/tools
RUNS=${2:-5}
fake="$top/tests/fake-firecracker/fake_firecracker.py"
work=$(mktemp -d)
trap 'pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
export VMUTILS_STATE_DIR="$work/state" VMUTILS_RUN_DIR="$work/run"
mkdir -p "$work/root/etc" "$work/root/opt"
: >"$work/root/etc/machine-id"
mke2fs -q -F -t ext4 -d "$work/root" "$work/golden.ext4" 16M
head -c 200k /dev/urandom >"$work/agent"
printf '[Unit]\nDescription=a\n[Service]\nExecStart=/opt/a/agent\nEnvironmentFile=/etc/environment\n[Install]\nWantedBy=multi-user.target\n' >"$work/a.service"
: >"$work/vmlinux"; : >"$work/initrd"

t() {  # t NAME CMD... (stdin/stdout passed through): appends "NAME wall_ms cpu_ms"
  local name=$1; shift
  /usr/bin/time -f "$name %e %U %S" -a -o "$work/times" "$@"
}
for i in $(seq 1 "$RUNS"); do
  id=vm-ovh$i
  t vmnet-alloc "$B/vmnet-alloc" -q --no-tap --pool 10.123.0.0/24 --id $id >"$work/r1"
  t rootfs-clone "$B/rootfs-clone" -q --golden "$work/golden.ext4" <"$work/r1" >"$work/r2"
  SESSION_ID=x t agent-inject "$B/agent-inject" -q --copy "$work/agent:/opt/a/agent:0755" \
    --unit "$work/a.service" --env SESSION_ID <"$work/r2" >"$work/r3"
  t fc-launch "$B/fc-launch" -q --vmm firecracker --firecracker-bin "$fake" \
    --kernel "$work/vmlinux" --initrd "$work/initrd" <"$work/r3" >"$work/r4"
  for tool in vmnet-alloc rootfs-clone agent-inject fc-launch; do
    t "$tool--version" "$B/$tool" --version >/dev/null
  done
  pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vmm"]["pid"])' "$work/r4")
  kill "$pid" 2>/dev/null || true
done
echo "toolkit overhead per VM: medians of $RUNS runs, ms (load $(cut -d' ' -f1-3 /proc/loadavg))"
python3 - "$work/times" <<'PY'
import sys, statistics as st, collections
d = collections.defaultdict(lambda: ([], []))
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) != 4: continue
    d[p[0]][0].append(float(p[1]) * 1000); d[p[0]][1].append((float(p[2]) + float(p[3])) * 1000)
tools = ["vmnet-alloc", "rootfs-clone", "agent-inject", "fc-launch"]
print(f"{'tool':14} {'wall':>7} {'cpu':>7} {'--version wall':>15} {'--version cpu':>14}")
tw = tc = bw = bc = 0
for t in tools:
    w, c = st.median(d[t][0]), st.median(d[t][1])
    vw, vc = st.median(d[t + "--version"][0]), st.median(d[t + "--version"][1])
    tw += w; tc += c; bw += vw; bc += vc
    print(f"{t:14} {w:7.0f} {c:7.0f} {vw:15.0f} {vc:14.0f}")
print(f"{'total':14} {tw:7.0f} {tc:7.0f} {bw:15.0f} {bc:14.0f}")
print(f"ratio total/--version baseline: wall {tw/bw:.1f}x, cpu {tc/bc:.1f}x")
PY
