# A real three-member etcd cluster on 127.0.0.1 for one test (sourced after
# lib.sh): free ports, data folders under $T, every member stopped on exit
# (also on failure). Debian's etcd-server.
#   start_etcd_cluster        sets ETCD_EPS ("127.0.0.1:P1,...") and ETCD_STORE
#   etcd_kill N | etcd_stop N | etcd_start N     member N (1-3)
#   etcd_leader                                  the number of the leader
# Set ETCD_IN=(ip netns exec NS) first to run the cluster inside a namespace.

need_cmd etcd
need_cmd curl
ETCD_IN=("${ETCD_IN[@]}")

# free_port: a TCP port nobody listens on now (bound by the kernel, released).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

ETCD_PIDS=(0 0 0 0)
_etcd_cleanup() {
  local i
  for i in 1 2 3; do
    if [ "${ETCD_PIDS[i]}" != 0 ]; then
      kill -9 "${ETCD_PIDS[i]}" 2>/dev/null || true
      wait "${ETCD_PIDS[i]}" 2>/dev/null || true
    fi
  done
}

# etcd_start N: (re)starts member N with its data folder; waits until it
# serves clients (which it does once it has joined a quorum).
etcd_start() {
  _etcd_launch "$1"
  _etcd_wait "$1"
}

_etcd_launch() {
  local n=$1
  "${ETCD_IN[@]}" etcd --name "m$n" --data-dir "$T/etcd/m$n" \
    --listen-client-urls "http://127.0.0.1:${ETCD_CP[n]}" \
    --advertise-client-urls "http://127.0.0.1:${ETCD_CP[n]}" \
    --listen-peer-urls "http://127.0.0.1:${ETCD_PP[n]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PP[n]}" \
    --initial-cluster "$ETCD_CLUSTER" --initial-cluster-token "vmu-test-$$" \
    --initial-cluster-state new --logger zap --log-outputs stderr --log-level warn \
    >>"$T/etcd/m$n.log" 2>&1 &
  ETCD_PIDS[n]=$!
}

_etcd_wait() {
  local n=$1 i
  for i in $(seq 1 150); do
    "${ETCD_IN[@]}" curl -s -o /dev/null "http://127.0.0.1:${ETCD_CP[n]}/version" && return 0
    kill -0 "${ETCD_PIDS[n]}" 2>/dev/null || { tail -5 "$T/etcd/m$n.log" >&2; fail "etcd member $n died"; }
    sleep 0.2
  done
  fail "etcd member $n does not answer on port ${ETCD_CP[n]}"
}

etcd_kill() {
  kill -9 "${ETCD_PIDS[$1]}" 2>/dev/null || true
  wait "${ETCD_PIDS[$1]}" 2>/dev/null || true
  ETCD_PIDS[$1]=0
}

etcd_stop() {
  kill -TERM "${ETCD_PIDS[$1]}" 2>/dev/null || true
  wait "${ETCD_PIDS[$1]}" 2>/dev/null || true
  ETCD_PIDS[$1]=0
}

# etcd_healthy: waits until the cluster commits (a quorum and a leader).
etcd_healthy() {
  local i n
  for i in $(seq 1 150); do
    for n in 1 2 3; do
      [ "${ETCD_PIDS[n]}" != 0 ] || continue
      "${ETCD_IN[@]}" curl -s -m 2 "http://127.0.0.1:${ETCD_CP[n]}/health" | grep -q '"health":"true"' && return 0
    done
    sleep 0.2
  done
  fail "the etcd cluster has no quorum after 30 s"
}

etcd_leader() {
  local n out
  for n in 1 2 3; do
    [ "${ETCD_PIDS[n]}" != 0 ] || continue
    out=$("${ETCD_IN[@]}" curl -s -m 2 -X POST -d '{}' "http://127.0.0.1:${ETCD_CP[n]}/v3/maintenance/status") || continue
    python3 -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if j.get("leader") and j["leader"]==j["header"]["member_id"] else 1)' "$out" &&
      { echo "$n"; return 0; }
  done
  return 1
}

start_etcd_cluster() {
  mkdir -p "$T/etcd"
  ETCD_CP=(0) ETCD_PP=(0)
  local n
  for n in 1 2 3; do ETCD_CP+=("$(free_port)"); ETCD_PP+=("$(free_port)"); done
  ETCD_CLUSTER="m1=http://127.0.0.1:${ETCD_PP[1]},m2=http://127.0.0.1:${ETCD_PP[2]},m3=http://127.0.0.1:${ETCD_PP[3]}"
  on_exit _etcd_cleanup
  for n in 1 2 3; do _etcd_launch "$n"; done
  for n in 1 2 3; do _etcd_wait "$n"; done
  etcd_healthy
  ETCD_EPS="127.0.0.1:${ETCD_CP[1]},127.0.0.1:${ETCD_CP[2]},127.0.0.1:${ETCD_CP[3]}"
  ETCD_STORE="etcd://$ETCD_EPS/vmutils-test"
}
