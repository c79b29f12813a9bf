#!/usr/bin/env bash
# vm-wait-ready benchmark (not part of the test suite). Needs root and
# python3. Scripted guests in a throwaway pair of network namespaces (a
# bridge; a guest namespace behind a veth; a real HTTP server; console files
# written on a schedule; stand-in VMM processes), measured in wall-clock
# time from the guest's event to vm-wait-ready's exit (or its record):
#
#  A. verdict latency after a console line and after the VMM's exit:
#     a failed unit (Restart= unknown: 800 ms settle; and Restart=no read
#     from the record's image: 250 ms), a kernel panic, the VMM killed. Baselines in the same run: the demo's former loop
#     (curl -m 2, kill -0 on the VMM, sleep 1) and the incident's controller
#     (curl every 2 s, give up at BASE_DEADLINE, default 120 s: measured once,
#     on the failed unit).
#  B. ready latency after the agent's first answer. Baseline: the demo's
#     former curl loop.
#  vm-wait-ready's times are its record's ready.at (when it decided); the
#  baselines' are taken by the shell as their loop ends.
#  C. one process waiting for N_VMS (default 100) scripted VMs, each console
#     growing by a line every 100 ms: threads, CPU used while waiting (guests
#     unreachable, i.e. booting; then refusing, i.e. agents starting), then
#     the time until all are ready once one server answers on every
#     address. Baseline: N_VMS demo curl loops, CPU over the same time.
# Usage: bench/vm-wait-ready.sh [TOOLS_DIR]   Env: RUNS (5), N_VMS, BASE_DEADLINE.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$here/build/release/tools}
[ -x "$BIN/vm-wait-ready" ] || BIN="$here/build/dev/tools"
[ -x "$BIN/vm-wait-ready" ] || { echo "no vm-wait-ready in $BIN; build first" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
RUNS=${RUNS:-5}
N_VMS=${N_VMS:-100}
BASE_DEADLINE=${BASE_DEADLINE:-120}
WR="$BIN/vm-wait-ready"

W=$(mktemp -d /var/tmp/vmu-bench-wait.XXXXXX)
export VMUTILS_STATE_DIR="$W/state"
NS=vmu-bw$$
GNS=vmu-bwg$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  ip netns pids "$GNS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns delete "$GNS" 2>/dev/null || true
  ip netns delete "$NS" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
ip netns add "$NS"
ip netns add "$GNS"
ns() { ip netns exec "$NS" "$@"; }
gns() { ip netns exec "$GNS" "$@"; }
ns ip link set lo up
gns ip link set lo up
for n in "$NS" "$GNS"; do
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ns ip link add br0 type bridge
ns ip addr add 10.92.0.1/16 dev br0
ns ip link set br0 up
ns ip link add tap0 type veth peer name eth0 netns "$GNS"
ns ip link set tap0 master br0 up
gns ip link set eth0 up

now() { date +%s.%N; }
# The wall-clock time of the verdict, from the record's ready.at (written by
# vm-wait-ready when it decided: process exit and our own forks excluded).
at_of() {
  python3 -c 'import json,sys,datetime
r = json.loads(open(sys.argv[1]).readline())
print("%.3f" % datetime.datetime.strptime(r["ready"]["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp())' "$1"
}
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# An image holding the agent's unit file (Restart=no), for records that
# name a rootfs: vm-wait-ready then knows no restart will come.
mkdir -p "$W/root/etc/systemd/system"
printf '[Unit]\nDescription=vmutils example agent\n[Service]\nType=exec\nExecStart=/opt/vm-agent/vm-agent\nRestart=no\n' \
  >"$W/root/etc/systemd/system/vm-agent.service"
mke2fs -q -F -t ext4 -d "$W/root" "$W/rootfs.ext4" 8M >/dev/null 2>&1

# record ID IP [ROOTFS]: a record with a stand-in VMM ($VMM_PID) and console ($CON).
record() {
  local id=$1 ip=$2 rootfs=${3:-}
  sleep 100000 </dev/null >/dev/null 2>&1 &
  VMM_PID=$!
  pids+=("$VMM_PID")
  local st
  st=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$VMM_PID/stat")
  mkdir -p "$W/state/vms/$id"
  CON="$W/state/vms/$id/console.log"
  printf '[    0.000000] Linux version 6.1.0\r\n[    4.5] systemd[1]: systemd 252 running in system mode (+PAM)\r\n' >"$CON"
  : >"$W/state/vms/$id/vmm.log"
  REC="$W/rec-$id.json"
  printf '{"v":1,"id":"%s","net":{"ip":"%s","tap":"tap0","bridge":"br0"},"rootfs":{"path":"%s"},"agent":{"units":[{"name":"vm-agent.service","enabled_in":["multi-user.target.wants"]}]},"vmm":{"pid":%s,"start_time":%s,"console_log":"%s","log":"%s"}}\n' \
    "$id" "$ip" "$rootfs" "$VMM_PID" "$st" "$CON" "$W/state/vms/$id/vmm.log" >"$REC"
}

# The guest's agent starts (a real HTTP server in the guest namespace);
# $W/up gets the time it began to listen.
server() {
  rm -f "$W/up"
  gns python3 "$here/tests/cli/wait-guest.py" --bind "$1" --ready-file "$W/up" </dev/null >/dev/null 2>&1 &
  for _ in $(seq 200); do [ -s "$W/up" ] && return; sleep 0.02; done
  echo "the guest's server did not start" >&2
  exit 1
}
server_stop() {
  ip netns pids "$GNS" | xargs -r kill 2>/dev/null || true
  for _ in $(seq 100); do [ -z "$(ip netns pids "$GNS")" ] && break; sleep 0.02; done
}

# The demo's former loop: curl -m 2, the VMM checked with kill -0, sleep 1.
demo_loop() {  # IP PID DEADLINE
  local t0=$SECONDS
  until ns curl -fsS -m 2 "http://$1:8080/health" >/dev/null 2>&1; do
    kill -0 "$2" 2>/dev/null || return 1
    [ $((SECONDS - t0)) -gt "$3" ] && return 2
    sleep 1
  done
}

echo "vm-wait-ready benchmark: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), binary $WR"
echo

# --- A. verdict latency ---------------------------------------------------
declare -A lat
for run in $(seq "$RUNS"); do
  for case in unit unit-norestart panic vmm; do
    if [ "$case" = unit-norestart ]; then record "a-$case-$run" 10.92.1.1 "$W/rootfs.ext4"; else record "a-$case-$run" 10.92.1.1; fi
    ( ns "$WR" -q <"$REC" >"$W/a.out" 2>/dev/null || true ) &
    w=$!
    sleep 1
    t=$(now)
    case $case in
      unit | unit-norestart) printf '[ 9.0] systemd[1]: vm-agent.service: Main process exited, code=exited, status=203/EXEC\r\n[ 9.0] systemd[1]: vm-agent.service: Failed with result '"'"'exit-code'"'"'.\r\n' >>"$CON" ;;
      panic) printf '[ 9.0] Kernel panic - not syncing: Fatal exception\r\n' >>"$CON" ;;
      vmm) kill -9 "$VMM_PID" ;;
    esac
    wait "$w" || true
    lat[$case]+="$(ms "$t" "$(at_of "$W/a.out")") "
    kill -9 "$VMM_PID" 2>/dev/null || true
  done
done
# Baselines: the demo loop on a VMM exit (it notices through kill -0) ...
base_vmm=""
for run in $(seq "$RUNS"); do
  record "b-vmm-$run" 10.92.1.1
  ( demo_loop 10.92.1.1 "$VMM_PID" 600 || true; now >"$W/end" ) &
  w=$!
  sleep 1
  t=$(now)
  kill -9 "$VMM_PID"
  wait "$w" || true
  base_vmm+="$(ms "$t" "$(cat "$W/end")") "
done
# ... and the incident's controller on a failed unit: it cannot see it.
record b-unit 10.92.1.1
t=$(now)
for _ in $(seq $((BASE_DEADLINE / 2))); do
  ns curl -s -m 2 "http://10.92.1.1:8080/health" >/dev/null 2>&1 && break
  sleep 2
  [ "$(ms "$t" "$(now)")" -ge $((BASE_DEADLINE * 1000)) ] && break
done
base_unit=$(ms "$t" "$(now)")
kill -9 "$VMM_PID" 2>/dev/null || true

echo "A. verdict latency (ms from the console line / the kill to the verdict; $RUNS runs, median [all])"
printf '%-34s %8s   %s\n' "case" "median" "runs"
for case in unit unit-norestart panic vmm; do
  printf '%-34s %8s   %s\n' "vm-wait-ready: $case" "$(echo ${lat[$case]} | tr ' ' '\n' | median)" "${lat[$case]}"
done
printf '%-34s %8s   %s\n' "baseline demo loop: vmm" "$(echo $base_vmm | tr ' ' '\n' | median)" "$base_vmm"
printf '%-34s %8s   %s\n' "baseline incident loop: unit" "$base_unit" "(gives up at the deadline, no reason)"
echo

# --- B. ready latency -----------------------------------------------------
gns ip addr add 10.92.2.1/16 dev eth0
rl=""
bl=""
for run in $(seq "$RUNS"); do
  record "r-$run" 10.92.2.1
  ( ns "$WR" -q <"$REC" >"$W/b.out" 2>/dev/null || true ) &
  w=$!
  sleep 1
  server 10.92.2.1
  wait "$w" || true
  rl+="$(ms "$(cat "$W/up")" "$(at_of "$W/b.out")") "
  server_stop
  kill -9 "$VMM_PID" 2>/dev/null || true
  # The baseline, the same way.
  record "rb-$run" 10.92.2.1
  ( demo_loop 10.92.2.1 "$VMM_PID" 600 || true; now >"$W/end" ) &
  w=$!
  sleep 1.3
  server 10.92.2.1
  wait "$w" || true
  bl+="$(ms "$(cat "$W/up")" "$(cat "$W/end")") "
  server_stop
  kill -9 "$VMM_PID" 2>/dev/null || true
done
gns ip addr flush dev eth0
echo "B. ready latency (ms from the agent's listen() to the verdict; $RUNS runs)"
printf '%-34s %8s   %s\n' "vm-wait-ready" "$(echo $rl | tr ' ' '\n' | median)" "$rl"
printf '%-34s %8s   %s\n' "baseline demo curl loop (sleep 1)" "$(echo $bl | tr ' ' '\n' | median)" "$bl"
echo

# --- C. N_VMS at once -----------------------------------------------------
: >"$W/all.jsonl"
cons=()
for i in $(seq "$N_VMS"); do
  record "c-$i" "10.92.3.$i"
  cat "$REC" >>"$W/all.jsonl"
  cons+=("$CON")
done
# Consoles growing: one line every 100 ms per VM.
python3 - "${cons[@]}" <<'PY' &
import sys, time
files = [open(p, "a") for p in sys.argv[1:]]
n = 0
while True:
    for f in files:
        f.write("[ %8.3f] systemd[1]: Starting something-%d.service - Something...\r\n" % (n / 10, n))
        f.flush()
    n += 1
    time.sleep(0.1)
PY
writer=$!
pids+=("$writer")
cpu() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }  # utime+stime, ticks
hz=$(getconf CLK_TCK)
mkfifo "$W/in"
ns "$WR" -q --timeout 10m <"$W/in" >"$W/c.out" 2>"$W/c.err" &
exec 9>"$W/in"   # stdin stays open: more records could come
cat "$W/all.jsonl" >&9
sleep 3
wpid=$(for p in $(ip netns pids "$NS"); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = vm-wait-ready ] && echo "$p"; done | head -1)
pids+=("$wpid")
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$wpid/status")
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$wpid/status")
c0=$(cpu "$wpid"); t0=$(now)
sleep 20
c1=$(cpu "$wpid"); t1=$(now)
unreach=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", 100 * c / hz / (b - a) }')
# The guests come up (every address answers ARP), agents not yet listening.
for i in $(seq "$N_VMS"); do gns ip addr add "10.92.3.$i/16" dev eth0; done
sleep 3
c0=$(cpu "$wpid"); t0=$(now)
sleep 10
c1=$(cpu "$wpid"); t1=$(now)
refused=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", 100 * c / hz / (b - a) }')
server 0.0.0.0
for _ in $(seq 600); do [ "$(wc -l <"$W/c.out")" -ge "$N_VMS" ] && break; sleep 0.05; done
read -r all_ready med_ready < <(python3 - "$W/c.out" "$(cat "$W/up")" <<'PY'
import json, sys, datetime, statistics
up = float(sys.argv[2])
ts = [datetime.datetime.strptime(json.loads(l)["ready"]["at"], "%Y-%m-%dT%H:%M:%S.%fZ")
      .replace(tzinfo=datetime.timezone.utc).timestamp() for l in open(sys.argv[1])]
print("%.0f %.0f" % ((max(ts) - up) * 1000, (statistics.median(ts) - up) * 1000))
PY
)
ok=$(grep -c '"ok":true' "$W/c.out" || true)
server_stop
exec 9>&-
kill "$wpid" 2>/dev/null || true
kill "$writer" 2>/dev/null || true
# The baseline: N_VMS demo loops against the refusing guests, CPU over 10 s.
for i in $(seq "$N_VMS"); do gns ip addr add "10.92.4.$i/16" dev eth0; done
b0=$(awk '{ print $14 + $15 + $16 + $17 }' /proc/$$/stat)
(
  for i in $(seq "$N_VMS"); do
    ( t=$SECONDS; until ns curl -fsS -m 2 "http://10.92.4.$i:8080/health" >/dev/null 2>&1; do
        [ $((SECONDS - t)) -ge 10 ] && break; sleep 1; done ) &
  done
  wait
)
b1=$(awk '{ print $14 + $15 + $16 + $17 }' /proc/$$/stat)
base_cpu=$(awk -v c="$((b1 - b0))" -v hz="$hz" 'BEGIN { printf "%.1f", 100 * c / hz / 10 }')
echo "C. one process, $N_VMS VMs (consoles growing by a line per 100 ms each)"
echo "   threads: $threads   RSS: $((rss / 1024)) MiB"
echo "   CPU while the guests are unreachable (booting): $unreach % of one core"
echo "   CPU while every port refuses (20 ms probes):    $refused % of one core"
echo "   after the agent began to listen: median VM ready in $med_ready ms, all $N_VMS in $all_ready ms ($ok ok)"
echo "   baseline: $N_VMS demo curl loops against refusing guests: $base_cpu % of one core"
