#!/usr/bin/env bash
# Allocations per second: vmnet-alloc --no-tap against Debian's CNI
# host-local IPAM plugin (containernetworking-plugins) on the same /16 pool,
# in the same run, with 1 and 16 parallel writers, one process per allocation
# for both (that is how a runtime calls either). Measured with 10, 1,000 and
# 10,000 leases already live in the pool (each store filled by its own tool,
# then copied afresh for every round). Each round times host-local, then the
# host store, then (with 10 live leases) the etcd store on a three-member
# cluster this script starts on 127.0.0.1; medians of ROUNDS. Duplicates are
# counted over the records printed and the store listed afterwards.
#   bench/vmnet-alloc.sh [BUILD_DIR] [N] [ROUNDS] [LIVE...]
#     defaults: build/release 200 3 "10 1000 10000"
#   BENCH_DIR=/dev/shm bench/vmnet-alloc.sh ...   stores on tmpfs (no disk flush)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/release}
N=${2:-200}
ROUNDS=${3:-3}
shift $(($# > 3 ? 3 : $#))
LIVE=("$@")
[ ${#LIVE[@]} -gt 0 ] || LIVE=(10 1000 10000)
alloc="$build/tools/vmnet-alloc"
hostlocal=/usr/lib/cni/host-local
[ -x "$alloc" ] || { echo "build first: $alloc missing" >&2; exit 1; }
[ -x "$hostlocal" ] || { echo "needs containernetworking-plugins ($hostlocal)" >&2; exit 1; }
command -v etcd >/dev/null || { echo "needs etcd-server (etcd)" >&2; exit 1; }
work=$(mktemp -d "${BENCH_DIR:-/tmp}/vmu-bench.XXXXXX")
etcd_pids=()
cleanup() {
  local p
  for p in "${etcd_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

POOL=10.99.0.0/16
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
hl_conf() { echo '{"cniVersion":"0.4.0","name":"bench","ipam":{"type":"host-local","ranges":[[{"subnet":"'$POOL'"}]],"dataDir":"'$1'"}}'; }

# run_writers WRITERS COUNT CMD... : COUNT/WRITERS runs of CMD per writer,
# in parallel; CMD's stdout goes to $work/out.W; prints the seconds taken.
run_writers() {
  local writers=$1 per=$(($2 / $1)) t0 t1 w pids=()
  shift 2
  rm -f "$work"/out.*
  t0=$(now)
  for w in $(seq 1 "$writers"); do
    (for i in $(seq 1 "$per"); do WID="$w-$i" "$@" || exit 1; done >"$work/out.$w") &
    pids+=($!)
  done
  for w in "${pids[@]}"; do wait "$w" || { echo "a writer failed" >&2; exit 1; }; done
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}

hl_one() {
  hl_conf "$HLDIR" | CNI_COMMAND=ADD CNI_CONTAINERID="c$RANDOM$RANDOM-$WID" CNI_NETNS=/var/run/netns/none \
    CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$hostlocal" >/dev/null
}
vm_one() { "$alloc" --no-tap -q --pool "$POOL"; }

# Fill templates: LIVE leases in each store, made by the tool itself.
fill_host() {  # DIR LIVE
  mkdir -p "$1"
  local left=$2 n
  while [ "$left" -gt 0 ]; do
    n=$((left > 4096 ? 4096 : left))
    VMUTILS_STATE_DIR="$1" "$alloc" --no-tap -q --pool "$POOL" --count "$n" >/dev/null
    left=$((left - n))
  done
}
fill_hostlocal() {  # DIR LIVE (4 writers)
  mkdir -p "$1"
  HLDIR=$1 run_writers 4 "$2" hl_one >/dev/null
}

dups_of() {  # FILES... of records -> number of addresses handed out twice
  cat "$@" | python3 -c 'import json,sys; ips=[json.loads(l)["net"]["ip"] for l in sys.stdin]; print(len(ips)-len(set(ips)))'
}

# A three-member etcd cluster on free ports of 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_etcd() {
  local cp=() pp=() n cluster=""
  for n in 1 2 3; do cp+=("$(free_port)"); pp+=("$(free_port)"); done
  for n in 0 1 2; do cluster="$cluster${cluster:+,}b$n=http://127.0.0.1:${pp[n]}"; done
  for n in 0 1 2; do
    etcd --name "b$n" --data-dir "$work/etcd$n" --listen-client-urls "http://127.0.0.1:${cp[n]}" \
      --advertise-client-urls "http://127.0.0.1:${cp[n]}" --listen-peer-urls "http://127.0.0.1:${pp[n]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${pp[n]}" --initial-cluster "$cluster" \
      --initial-cluster-state new --logger zap --log-outputs stderr --log-level error 2>"$work/etcd$n.log" &
    etcd_pids+=($!)
  done
  for _ in $(seq 1 150); do
    curl -s -m 1 "http://127.0.0.1:${cp[0]}/health" | grep -q '"health":"true"' && break
    sleep 0.2
  done
  ETCD_STORE="etcd://127.0.0.1:${cp[0]},127.0.0.1:${cp[1]},127.0.0.1:${cp[2]}/bench"
}

echo "vmnet-alloc benchmark: N=$N allocations per measurement, $ROUNDS rounds, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "stores in $(df --output=fstype "$work" | tail -1) ($work); vmnet-alloc $("$alloc" --version | head -1)"
start_etcd
printf '%-7s %-8s %13s %13s %7s %10s %7s %s\n' live writers "host-local/s" "host-store/s" ratio "etcd/s" ratio duplicates
for live in "${LIVE[@]}"; do
  fill_host "$work/tmpl-host" "$live"
  fill_hostlocal "$work/tmpl-hl" "$live"
  for writers in 1 16; do
    : >"$work/hl"; : >"$work/vm"; : >"$work/et"; dups=0
    for r in $(seq 1 "$ROUNDS"); do
      rm -rf "$work/hl-dir"; cp -a "$work/tmpl-hl" "$work/hl-dir"
      s=$(HLDIR="$work/hl-dir" run_writers "$writers" "$N" hl_one)
      got=$(($(find "$work/hl-dir/bench" -name '10.99.*' | wc -l) - live))
      echo "$got / $s" | bc -l >>"$work/hl"

      rm -rf "$work/vm-dir"; cp -a "$work/tmpl-host" "$work/vm-dir"
      s=$(VMUTILS_STATE_DIR="$work/vm-dir" run_writers "$writers" "$N" vm_one)
      echo "$(cat "$work"/out.* | wc -l) / $s" | bc -l >>"$work/vm"
      dups=$((dups + $(dups_of "$work"/out.*)))
      listed=$(VMUTILS_STATE_DIR="$work/vm-dir" "$alloc" list | wc -l)
      [ "$listed" -eq $((live + N / writers * writers)) ] || { echo "host store lists $listed leases" >&2; dups=$((dups + 1)); }

      if [ "$live" = "${LIVE[0]}" ]; then
        # A fresh pool per round in etcd, filled like the others.
        epool="10.$((100 + r + writers)).0.0/16"
        rm -rf "$work/et-dir"
        VMUTILS_STORE="$ETCD_STORE" VMUTILS_HOST_ID=bench VMUTILS_STATE_DIR="$work/et-dir" \
          "$alloc" --no-tap -q --pool "$epool" --count "$live" >/dev/null
        et_one() { "$alloc" --no-tap -q --pool "$epool"; }
        s=$(VMUTILS_STORE="$ETCD_STORE" VMUTILS_HOST_ID=bench VMUTILS_STATE_DIR="$work/et-dir" \
              run_writers "$writers" "$N" et_one)
        echo "$(cat "$work"/out.* | wc -l) / $s" | bc -l >>"$work/et"
        dups=$((dups + $(dups_of "$work"/out.*)))
      fi
    done
    hl=$(median <"$work/hl"); vm=$(median <"$work/vm")
    if [ -s "$work/et" ]; then
      et=$(median <"$work/et")
      printf '%-7s %-8s %13.0f %13.0f %7.2f %10.0f %7.2f %s\n' "$live" "$writers" "$hl" "$vm" \
        "$(echo "$vm / $hl" | bc -l)" "$et" "$(echo "$et / $hl" | bc -l)" "$dups"
    else
      printf '%-7s %-8s %13.0f %13.0f %7.2f %10s %7s %s\n' "$live" "$writers" "$hl" "$vm" \
        "$(echo "$vm / $hl" | bc -l)" - - "$dups"
    fi
  done
  rm -rf "$work/tmpl-host" "$work/tmpl-hl"
done
echo "ratio: allocations/s of the store over host-local's in the same round's conditions"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
