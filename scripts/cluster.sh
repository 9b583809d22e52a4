#!/usr/bin/env bash
# Starts or stops swift-etcd on etcd's documented localhost layout.
#   scripts/cluster.sh start [--single]   build (release) and start
#   scripts/cluster.sh stop               stop the nodes this script started
#   scripts/cluster.sh status             etcdctl endpoint status of the nodes
# Logs and PIDs live in .cluster/<name>/ (node1 client 2379 / peer 2380,
# node2 3379/3380, node3 4379/4380). Set SWIFT_ETCD_CONFIG=debug to use a
# debug build (faster to build, slower to run).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
state="$root/.cluster"
config="${SWIFT_ETCD_CONFIG:-release}"
token="swift-etcd-cluster"

nodes_single=(node1)
nodes_three=(node1 node2 node3)
client_port() { case "$1" in node1) echo 2379;; node2) echo 3379;; node3) echo 4379;; esac; }
peer_port() { case "$1" in node1) echo 2380;; node2) echo 3380;; node3) echo 4380;; esac; }

start() {
  local single="$1"
  bash scripts/install-deps.sh
  echo "building swift-etcd ($config; a first release build takes several minutes on 2 cores)..."
  swift build -c "$config" --product swift-etcd
  local bin
  bin="$(swift build -c "$config" --show-bin-path)/swift-etcd"
  local nodes=("${nodes_three[@]}")
  [ "$single" = yes ] && nodes=("${nodes_single[@]}")
  local initial=""
  for n in "${nodes[@]}"; do initial+="${initial:+,}$n=http://127.0.0.1:$(peer_port "$n")"; done
  for n in "${nodes[@]}"; do
    local dir="$state/$n"
    mkdir -p "$dir"
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "$n already running (pid $(cat "$dir/pid"))"; continue
    fi
    local c="http://127.0.0.1:$(client_port "$n")" p="http://127.0.0.1:$(peer_port "$n")"
    nohup "$bin" --name "$n" --data-dir "$dir/data" \
      --listen-client-urls "$c" --advertise-client-urls "$c" \
      --listen-peer-urls "$p" --initial-advertise-peer-urls "$p" \
      --initial-cluster "$initial" --initial-cluster-state new \
      --initial-cluster-token "$token" > "$dir/log" 2>&1 &
    echo $! > "$dir/pid"
    echo "started $n (pid $!, client $c, log $dir/log)"
  done
  local endpoints=""
  for n in "${nodes[@]}"; do endpoints+="${endpoints:+,}127.0.0.1:$(client_port "$n")"; done
  for _ in $(seq 1 50); do
    if ETCDCTL_API=3 etcdctl --endpoints="$endpoints" endpoint health >/dev/null 2>&1; then
      ETCDCTL_API=3 etcdctl --endpoints="$endpoints" endpoint health
      echo "try: etcdctl --endpoints=$endpoints put hello world"
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
  local endpoints=""
  for dir in "$state"/*/; do
    local n; n=$(basename "$dir")
    endpoints+="${endpoints:+,}127.0.0.1:$(client_port "$n")"
  done
  ETCDCTL_API=3 etcdctl --endpoints="$endpoints" endpoint status -w table
}

case "${1:-}" in
  start) if [ "${2:-}" = "--single" ]; then start yes; else start no; fi ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: scripts/cluster.sh start [--single] | stop | status" >&2; exit 2 ;;
esac
