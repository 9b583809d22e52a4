#!/usr/bin/env bash
# Watch fan-out benchmark (issue 3), etcd 3.4 against swift-etcd in one run.
# For each server in turn: a fresh single member on 127.0.0.1 (client 23790,
# peer 23800), `swift-etcd-bench watch` with N watchers on one prefix spread
# over S streams and M puts under it; reports events/s delivered, delivery
# latency, and the server's RSS before and after the watchers exist (so
# memory per watcher). Writes the table to Docs/benchmarks.md.
#   scripts/bench-watch.sh [--quick] [--no-record]
#     --quick      1,000 watchers / 10 streams / 200 puts (default 10,000 / 100 / 500)
#     --no-record  print the table, leave Docs/benchmarks.md alone
# BENCH_NO_BUILD=1 reuses an existing release build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench-servers.sh

bench_parse_options "$@"
if [ "$quick" = yes ]; then
  watchers=1000 streams=10 conns=5 puts=200
else
  watchers=10000 streams=100 conns=10 puts=500
fi
cport=23790
pport=23800

results="$(mktemp -d "${TMPDIR:-/tmp}/swift-etcd-bench.results.XXXXXX")"
bench_keep_logs="$results/logs"
finished=no
# Results outlive a failed run, for a look at what was measured.
trap 'bench_stop_all; if [ "$finished" = yes ]; then rm -rf "$results"; else echo "results kept in $results" >&2; fi' EXIT

bash scripts/install-deps.sh
bench_build
args=(watch --endpoints "127.0.0.1:$cport" --conns "$conns" --watchers "$watchers" --streams "$streams"
      --total "$puts" --clients 1 --key-space-size 100 --val-size 16 --request-timeout 30 --deadline 900)

for kind in etcd swift-etcd; do
  echo "== $kind"
  bench_start_member "$kind" n1 "$cport" "$pport" "n1=http://127.0.0.1:$pport"
  bench_wait_healthy "127.0.0.1:$cport"
  "$bench_bin/swift-etcd-bench" "${args[@]}" --server-pids "$(bench_pid_list)" -w json > "$results/$kind.watch.json"
  python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print("  %d/%d events, %.0f events/s, %.0f bytes/watcher" % (r["events_received"], r["events_expected"], r["events_per_second"], r.get("bytes_per_watcher") or 0))' "$results/$kind.watch.json"
  bench_stop_all
done

# (A command substitution that ends false would fail the assignment under set -e.)
mode=full quick_flag=""
if [ "$quick" = yes ]; then mode=quick quick_flag=" --quick"; fi
etcd_version="$(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p')"
header="### Watch fan-out, $(date -u +%Y-%m-%d) (${mode})

$(nproc) cores (shared with other builds), etcd $etcd_version (Debian), swift-etcd $(git rev-parse --short HEAD) release build; each server a fresh single member on 127.0.0.1, data in ${TMPDIR:-/tmp}. One writer puts while every watcher watches the whole prefix, so each put is one event per watcher. Delivery latency runs from the put's send to the event's arrival. Memory per watcher is the growth of the server's VmRSS from before the first watch stream opened to 1 s after the last watcher was created, divided by the watchers (streams included).

\`\`\`
scripts/bench-watch.sh${quick_flag}
swift-etcd-bench ${args[*]} --server-pids <server pid> -w json
\`\`\`"
doc_args=()
[ "$record" = yes ] && doc_args=(--doc Docs/benchmarks.md)
python3 scripts/bench-report.py watch "$results" --names watch --marker bench-watch --header "$header" "${doc_args[@]}"
finished=yes
