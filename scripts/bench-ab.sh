#!/usr/bin/env bash
# A/B of two server builds on the same three-member layout as bench.sh
# (ports 22379-24380), alternating A and B for several rounds so that the
# machine's drift hits both: puts from 1 and 100 clients, linearizable and
# serializable ranges from 100 clients. Prints requests/s and the members'
# server CPU per request (the steadier figure) for each round. For finding
# what a change costs; bench.sh is the record against etcd.
#   scripts/bench-ab.sh [--rounds N] A B
#     A, B: absolute paths of swift-etcd binaries, or `etcd`
# The load generator is this checkout's release swift-etcd-bench (built if
# missing; BENCH_NO_BUILD=1 as in bench.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench-servers.sh

rounds=3
servers=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    etcd|/*) servers+=("$1"); shift ;;
    *) echo "usage: scripts/bench-ab.sh [--rounds N] A B  (absolute paths of swift-etcd binaries, or etcd)" >&2; exit 2 ;;
  esac
done
if [ "${#servers[@]}" -ne 2 ]; then
  echo "usage: scripts/bench-ab.sh [--rounds N] A B  (absolute paths of swift-etcd binaries, or etcd)" >&2
  exit 2
fi
for s in "${servers[@]}"; do
  [ "$s" = etcd ] || [ -x "$s" ] || { echo "not an executable: $s" >&2; exit 2; }
done

trap bench_stop_all EXIT
BENCH_NO_BUILD="${BENCH_NO_BUILD:-1}" bench_build

bench_cluster_layout

loads=(
  "put-1|put --target-leader --conns 1 --clients 1 --total 2000 --key-size 8 --val-size 256 --key-space-size 100000 --sequential-keys"
  "put-100|put --target-leader --conns 10 --clients 100 --total 30000 --key-size 8 --val-size 256 --key-space-size 100000 --sequential-keys"
  "range-l|range 00000001 --conns 10 --clients 100 --total 50000 --consistency l"
  "range-s|range 00000001 --conns 10 --clients 100 --total 50000 --consistency s"
)

printf '%-6s %-2s %-9s %10s %12s\n' round "" load "req/s" "CPU ms/req"
for round in $(seq 1 "$rounds"); do
  for which in 0 1; do
    server="${servers[$which]}"
    label=$([ "$which" = 0 ] && echo A || echo B)
    for i in 0 1 2; do
      bench_start_member "$server" "${names[$i]}" "${client_ports[$i]}" "${peer_ports[$i]}" "$initial"
    done
    bench_wait_healthy "$endpoints"
    for load in "${loads[@]}"; do
      name="${load%%|*}"
      # shellcheck disable=SC2206 # the arguments are a word list by design
      args=(${load#*|})
      json="$("$bench_bin/swift-etcd-bench" --endpoints "$endpoints" "${args[@]}" --request-timeout 10 --deadline 300 \
        --server-pids "$(bench_pid_list)" -w json | grep '^{' | tail -1 || true)"
      python3 -c 'import json,sys
r=json.loads(sys.argv[1]) if sys.argv[1] else None
cpu=r and r.get("server_cpu_ms_per_request")
print("%-6s %-2s %-9s %10s %12s" % (sys.argv[2], sys.argv[3], sys.argv[4],
  "-" if r is None else "%.0f" % r["requests_per_second"], "-" if cpu is None else "%.3f" % cpu))' \
        "$json" "$round" "$label" "$name"
    done
    bench_stop_all
  done
done
echo "A = ${servers[0]}"
echo "B = ${servers[1]}"
