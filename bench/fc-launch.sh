#!/usr/bin/env bash
# fc-launch benchmark (not part of the test suite). Needs root, qemu, dnsmasq,
# curl and the guest kit (scripts/build-guest-kit). In a throwaway network
# namespace with dnsmasq, per boot:
#   launch_ms   fc-launch start -> fc-launch returns (VM running, QMP answers)
#   first_ms    fc-launch start -> first byte in console.log
#   health_ms   fc-launch start -> GET /health answers 200 (the agent)
# RUNS boots (default 3) with the journal forwarded to the console (the
# default) and RUNS with --no-journal-console: the difference is what the
# forwarding costs. Baseline in the same run: the very same QEMU argv
# (from fc-launch --dry-run) started straight from the shell, time to its
# first console byte; fc-launch's overhead is first_ms minus that. Also the
# toolkit's own work without any VMM: fc-launch --dry-run (parse, plan,
# host probes) and a full launch against the fake Firecracker.
# Usage: bench/fc-launch.sh [TOOLS_DIR]  Env: RUNS, VMUTILS_GUEST_KIT.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$here/build/release/tools}
[ -x "$BIN/fc-launch" ] || BIN="$here/build/dev/tools"
[ -x "$BIN/fc-launch" ] || { echo "no fc-launch in $BIN; build first" >&2; exit 1; }
PATH="$BIN:$PATH:/usr/sbin:/sbin"
RUNS=${RUNS:-3}
kit=${VMUTILS_GUEST_KIT:-$here/build/guest-kit}
for f in vmlinux initrd.img rootfs.ext4 agent/vm-agent agent/vm-agent.service; do
  [ -s "$kit/$f" ] || { echo "no guest kit in $kit (scripts/build-guest-kit)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "needs root (netns, TAP)" >&2; exit 1; }

W=$(mktemp -d /var/tmp/vmu-bench-fcl.XXXXXX)
chmod 755 "$W"
export VMUTILS_STATE_DIR="$W/state" VMUTILS_RUN_DIR="$W/run"
NS=vmu-bfcl$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  ip netns delete "$NS" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
ip netns add "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
mkdir -p "$W/hosts"
in_ns vmnet-alloc --pool 10.86.0.0/24 --bridge vmubr6 --create-bridge -q --id vm-seed >/dev/null
in_ns dnsmasq --keep-in-foreground --port=0 --interface=vmubr6 --bind-interfaces \
  --dhcp-range=10.86.0.0,static --dhcp-hostsdir="$W/hosts" --dhcp-leasefile="$W/leases" \
  --pid-file="$W/dnsmasq.pid" &
for _ in $(seq 1 100); do [ -s "$W/dnsmasq.pid" ] && break; sleep 0.05; done
pids+=("$(cat "$W/dnsmasq.pid")")

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
field() { python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1"; }

# prepare ID: lease + clone + inject; prints the record.
prepare() {
  local id=$1
  in_ns vmnet-alloc --pool 10.86.0.0/24 --bridge vmubr6 --dhcp-hostsdir "$W/hosts" --id "$id" -q |
    rootfs-clone --golden "$kit/rootfs.ext4" -q |
    SESSION_ID=bench agent-inject -q --copy "$kit/agent/vm-agent:/opt/vm-agent/vm-agent:0755" \
      --unit "$kit/agent/vm-agent.service" --env SESSION_ID
}

# boot ID EXTRA...: prints "launch_ms first_ms health_ms accel"
boot() {
  local id=$1
  shift
  local rec ip console t0 t1 tf th code out accel pid
  rec=$(prepare "$id")
  ip=$(field 'r["net"]["ip"]' <<<"$rec")
  console="$VMUTILS_STATE_DIR/vms/$id/console.log"
  t0=$(now_ms)
  out=$(in_ns fc-launch -q --vmm qemu --kernel "$kit/vmlinux" --initrd "$kit/initrd.img" "$@" <<<"$rec")
  t1=$(now_ms)
  pid=$(field 'r["vmm"]["pid"]' <<<"$out")
  accel=$(field 'r["vmm"]["accel"]' <<<"$out")
  pids+=("$pid")
  while [ ! -s "$console" ]; do sleep 0.005; done
  tf=$(now_ms)
  th=""
  for _ in $(seq 1 600); do
    code=$(in_ns curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$ip:8080/health" || true)
    if [ "$code" = 200 ]; then th=$(now_ms); break; fi
    sleep 0.1
  done
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  in_ns vmnet-alloc release "$id" -q >/dev/null
  echo "$((t1 - t0)) $((tf - t0)) $(( ${th:-0} - t0 )) $accel"
}

# raw_first ID: the same QEMU argv from a shell; ms to its first console byte.
raw_first() {
  local id=$1 rec plan console t0 tf pid
  rec=$(prepare "$id")
  plan=$(in_ns fc-launch --dry-run --vmm qemu --kernel "$kit/vmlinux" --initrd "$kit/initrd.img" <<<"$rec")
  console="$VMUTILS_STATE_DIR/vms/$id/console.log"
  mkdir -p "$VMUTILS_RUN_DIR/$id"
  mapfile -t argv < <(field '"\n".join(r["argv"])' <<<"$plan")
  t0=$(now_ms)
  # ip netns exec may fork: the shell inside writes QEMU's own pid.
  in_ns bash -c 'echo $$ >"$0"; exec "$@"' "$W/raw.pid" "${argv[@]}" </dev/null >"$W/raw-$id.log" 2>&1 &
  while [ ! -s "$console" ]; do sleep 0.005; done
  tf=$(now_ms)
  pid=$(cat "$W/raw.pid")
  pids+=("$pid")
  kill -9 "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  in_ns vmnet-alloc release "$id" -q >/dev/null
  echo $((tf - t0))
}

mean() { awk '{ s += $1; n++ } END { if (n) printf "%.0f", s / n; else print "-" }'; }

echo "# fc-launch benchmark, $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -a on_l on_f on_h off_l off_f off_h raw
for i in $(seq 1 "$RUNS"); do
  read -r l f h a < <(boot "vm-bj$i")
  on_l+=("$l"); on_f+=("$f"); on_h+=("$h"); accel=$a
  echo "journal on  run $i: launch ${l} ms, first byte ${f} ms, /health ${h} ms ($a)"
  read -r l f h a < <(boot "vm-bn$i" --no-journal-console)
  off_l+=("$l"); off_f+=("$f"); off_h+=("$h")
  echo "journal off run $i: launch ${l} ms, first byte ${f} ms, /health ${h} ms ($a)"
  r=$(raw_first "vm-br$i")
  raw+=("$r")
  echo "raw qemu    run $i: first byte ${r} ms"
done

# Toolkit work alone: dry runs, and launches against the fake Firecracker.
rec=$(printf '{"v":1,"id":"vm-dry","rootfs":{"path":"%s"}}' "$kit/rootfs.ext4")
t0=$(now_ms)
for _ in $(seq 1 20); do fc-launch --dry-run --vmm qemu --kernel "$kit/vmlinux" <<<"$rec" >/dev/null; done
dry=$(( ($(now_ms) - t0) / 20 ))
fake="$here/tests/fake-firecracker/fake_firecracker.py"
fakel=()
if [ -x "$fake" ]; then
  for i in $(seq 1 3); do
    truncate -s 64M "$W/fake$i.ext4"
    r=$(printf '{"v":1,"id":"vm-fake%s","rootfs":{"path":"%s"}}' "$i" "$W/fake$i.ext4")
    t0=$(now_ms)
    out=$(fc-launch -q --firecracker-bin "$fake" --kernel "$kit/vmlinux" <<<"$r")
    fakel+=($(( $(now_ms) - t0 )))
    pids+=("$(field 'r["vmm"]["pid"]' <<<"$out")")
  done
fi

m() { printf '%s\n' "$@" | mean; }
echo
echo "| ($accel, $RUNS runs, means) | fc-launch returns | first console byte | agent /health 200 |"
echo "|---|---|---|---|"
echo "| journal forwarded (default) | $(m "${on_l[@]}") ms | $(m "${on_f[@]}") ms | $(m "${on_h[@]}") ms |"
echo "| --no-journal-console | $(m "${off_l[@]}") ms | $(m "${off_f[@]}") ms | $(m "${off_h[@]}") ms |"
echo "| baseline: same QEMU argv from a shell | - | $(m "${raw[@]}") ms | - |"
on_h_m=$(m "${on_h[@]}"); off_h_m=$(m "${off_h[@]}")
echo
echo "journal forwarding cost: $((on_h_m - off_h_m)) ms to /health ($(awk -v a="$on_h_m" -v b="$off_h_m" 'BEGIN{printf "%.2fx", a/b}'))"
echo "fc-launch first byte vs raw QEMU: $(( $(m "${on_f[@]}") - $(m "${raw[@]}") )) ms ($(awk -v a="$(m "${on_f[@]}")" -v b="$(m "${raw[@]}")" 'BEGIN{printf "%.2fx", a/b}'))"
echo "fc-launch --dry-run (toolkit work, no VMM): $dry ms per VM"
[ ${#fakel[@]} -gt 0 ] && echo "fc-launch against the fake Firecracker (python start included): $(m "${fakel[@]}") ms per VM"
