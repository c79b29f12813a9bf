#!/usr/bin/env bash
# Allocations per second: vmnet-alloc --no-tap against Debian's CNI
# host-local IPAM plugin (containernetworking-plugins) on the same pool size,
# in the same run: ROUNDS rounds, each timing host-local then vmnet-alloc
# back to back, so background load hits both alike; medians reported. One
# process per allocation for both (that is how a runtime calls either), with
# 1 and 16 parallel writers. Also counts addresses handed out twice.
#   bench/vmnet-alloc.sh [BUILD_DIR] [N] [ROUNDS]   default build/release 400 3
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/release}
N=${2:-400}
ROUNDS=${3:-3}
alloc="$build/tools/vmnet-alloc"
hostlocal=/usr/lib/cni/host-local
[ -x "$alloc" ] || { echo "build first: $alloc missing" >&2; exit 1; }
[ -x "$hostlocal" ] || { echo "needs containernetworking-plugins ($hostlocal)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }

# vmnet WRITERS DIR -> "seconds allocations duplicates"
vmnet() {
  local writers=$1 st=$2 per=$((N / $1))
  rm -rf "$st"; mkdir -p "$st"
  local t0 t1
  t0=$(now)
  for w in $(seq 1 "$writers"); do
    (for _ in $(seq 1 "$per"); do
       VMUTILS_STATE_DIR="$st" "$alloc" --no-tap -q --pool 10.99.0.0/16 || exit 1
     done >"$st.out.$w") &
  done
  wait
  t1=$(now)
  read -r dups n < <(cat "$st".out.* | python3 -c 'import json,sys; ips=[json.loads(l)["net"]["ip"] for l in sys.stdin]; print(len(ips)-len(set(ips)), len(ips))')
  rm -f "$st".out.*
  echo "$(echo "$t1 - $t0" | bc -l) $n $dups"
}

# hostlocal WRITERS DIR -> "seconds allocations"
hostlocal() {
  local writers=$1 dd=$2 per=$((N / $1))
  rm -rf "$dd"; mkdir -p "$dd"
  local conf='{"cniVersion":"0.4.0","name":"bench","ipam":{"type":"host-local","ranges":[[{"subnet":"10.99.0.0/16"}]],"dataDir":"'$dd'"}}'
  local t0 t1
  t0=$(now)
  for w in $(seq 1 "$writers"); do
    (for i in $(seq 1 "$per"); do
       echo "$conf" | CNI_COMMAND=ADD CNI_CONTAINERID="c$w-$i" CNI_NETNS=/var/run/netns/none \
         CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$hostlocal" >/dev/null || exit 1
     done) &
  done
  wait
  t1=$(now)
  echo "$(echo "$t1 - $t0" | bc -l) $(find "$dd/bench" -name '10.99.*' | wc -l)"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "vmnet-alloc benchmark: N=$N allocations per measurement, $ROUNDS rounds, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %14s %14s %8s %s\n' writers "host-local/s" "vmnet-alloc/s" ratio "duplicates"
for writers in 1 16; do
  : >"$work/hl" ; : >"$work/vm"; dups=0
  for r in $(seq 1 "$ROUNDS"); do
    read -r s n < <(hostlocal "$writers" "$work/hl-dir")
    echo "$n / $s" | bc -l >>"$work/hl"
    read -r s n d < <(vmnet "$writers" "$work/vm-dir")
    echo "$n / $s" | bc -l >>"$work/vm"
    dups=$((dups + d))
  done
  hl=$(median <"$work/hl"); vm=$(median <"$work/vm")
  printf '%-8s %14.0f %14.0f %8.2f %s\n' "$writers" "$hl" "$vm" "$(echo "$vm / $hl" | bc -l)" "$dups"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
