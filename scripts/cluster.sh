#!/usr/bin/env bash
# Starts or stops swift-etcd on etcd's documented localhost layout.
#   scripts/cluster.sh start [--single] [--tls DIR]   build (release) and start
#   scripts/cluster.sh stop               stop the nodes this script started
#   scripts/cluster.sh status             etcdctl endpoint status of the nodes
# With --tls DIR, client and peer URLs are https with mutual TLS: DIR holds
# ca.pem, server.pem/server.key (SAN IP:127.0.0.1, used by every node) and
# client.pem/client.key for etcdctl (README: "TLS").
# Logs and PIDs live in .cluster/<name>/ (node1 client 2379 / peer 2380,
# node2 3379/3380, node3 4379/4380). Set SWIFT_ETCD_CONFIG=debug to use a
# debug build (faster to build, slower to run).
set -euo pipefail
# The endpoints come from --endpoints here; an exported ETCDCTL_ENDPOINTS
# (as the README suggests for interactive use) would conflict with it.
unset ETCDCTL_ENDPOINTS
cd "$(dirname "$0")/.."
root=$(pwd)
state="$root/.cluster"
config="${SWIFT_ETCD_CONFIG:-release}"
token="swift-etcd-cluster"

nodes_single=(node1)
nodes_three=(node1 node2 node3)
client_port() { case "$1" in node1) echo 2379;; node2) echo 3379;; node3) echo 4379;; esac; }
peer_port() { case "$1" in node1) echo 2380;; node2) echo 3380;; node3) echo 4380;; esac; }

# etcdctl's TLS flags for the running cluster (none without --tls).
ctl_tls() {
  [ -f "$state/tls" ] || return 0
  local dir; dir=$(cat "$state/tls")
  echo "--cacert=$dir/ca.pem --cert=$dir/client.pem --key=$dir/client.key"
}

start() {
  local single="$1" tls="$2"
  local scheme=http tls_flags=()
  mkdir -p "$state"
  rm -f "$state/tls"
  if [ -n "$tls" ]; then
    tls=$(cd "$tls" && pwd)
    for f in ca.pem server.pem server.key client.pem client.key; do
      [ -f "$tls/$f" ] || { echo "--tls $tls: missing $f (see README, TLS)" >&2; return 2; }
    done
    scheme=https
    tls_flags=(--cert-file "$tls/server.pem" --key-file "$tls/server.key" --trusted-ca-file "$tls/ca.pem"
      --client-cert-auth --peer-cert-file "$tls/server.pem" --peer-key-file "$tls/server.key"
      --peer-trusted-ca-file "$tls/ca.pem" --peer-client-cert-auth)
    echo "$tls" > "$state/tls"
  fi
  bash scripts/install-deps.sh
  echo "building swift-etcd ($config; a first release build takes several minutes on 2 cores)..."
  swift build -c "$config" --product swift-etcd
  local bin
  bin="$(swift build -c "$config" --show-bin-path)/swift-etcd"
  local nodes=("${nodes_three[@]}")
  [ "$single" = yes ] && nodes=("${nodes_single[@]}")
  local initial=""
  for n in "${nodes[@]}"; do initial+="${initial:+,}$n=$scheme://127.0.0.1:$(peer_port "$n")"; done
  for n in "${nodes[@]}"; do
    local dir="$state/$n"
    mkdir -p "$dir"
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "$n already running (pid $(cat "$dir/pid"))"; continue
    fi
    local c="$scheme://127.0.0.1:$(client_port "$n")" p="$scheme://127.0.0.1:$(peer_port "$n")"
    nohup "$bin" --name "$n" --data-dir "$dir/data" \
      --listen-client-urls "$c" --advertise-client-urls "$c" \
      --listen-peer-urls "$p" --initial-advertise-peer-urls "$p" \
      --initial-cluster "$initial" --initial-cluster-state new \
      --initial-cluster-token "$token" ${tls_flags[@]+"${tls_flags[@]}"} > "$dir/log" 2>&1 &
    echo $! > "$dir/pid"
    echo "started $n (pid $!, client $c, log $dir/log)"
  done
  local endpoints="" prefix=""
  [ "$scheme" = https ] && prefix="https://"
  for n in "${nodes[@]}"; do endpoints+="${endpoints:+,}${prefix}127.0.0.1:$(client_port "$n")"; done
  local ctl_flags; ctl_flags=$(ctl_tls)
  for _ in $(seq 1 50); do
    # shellcheck disable=SC2086
    if ETCDCTL_API=3 etcdctl --endpoints="$endpoints" $ctl_flags endpoint health >/dev/null 2>&1; then
      # shellcheck disable=SC2086
      ETCDCTL_API=3 etcdctl --endpoints="$endpoints" $ctl_flags endpoint health
      echo "try: etcdctl --endpoints=$endpoints${ctl_flags:+ $ctl_flags} put hello world"
      return 0
    fi
    sleep 0.2
  done
  echo "nodes did not become healthy; see $state/*/log" >&2
  tail -n 5 "$state"/*/log >&2 || true
  return 1
}

stop() {
  for dir in "$state"/*/; do
    [ -f "$dir/pid" ] || continue
    local pid
    pid=$(cat "$dir/pid")
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" && echo "stopped $(basename "$dir") (pid $pid)"; fi
    rm -f "$dir/pid"
  done
}

status() {
  local endpoints="" prefix=""
  [ -f "$state/tls" ] && prefix="https://"
  for dir in "$state"/*/; do
    local n; n=$(basename "$dir")
    endpoints+="${endpoints:+,}${prefix}127.0.0.1:$(client_port "$n")"
  done
  # shellcheck disable=SC2046
  ETCDCTL_API=3 etcdctl --endpoints="$endpoints" $(ctl_tls) endpoint status -w table
}

usage() { echo "usage: scripts/cluster.sh start [--single] [--tls DIR] | stop | status" >&2; exit 2; }

case "${1:-}" in
  start)
    shift
    single=no tls=""
    while [ $# -gt 0 ]; do
      case "$1" in
        --single) single=yes ;;
        --tls) [ $# -ge 2 ] || usage; tls="$2"; shift ;;
        *) usage ;;
      esac
      shift
    done
    start "$single" "$tls" ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
