#!/usr/bin/env bash
# Whole-server benchmark (issue 7), etcd 3.4 against swift-etcd in one run.
# For each server in turn: a fresh three-member cluster on 127.0.0.1
# (clients 22379, 23379, 24379; peers 22380, 23380, 24380), then with
# swift-etcd-bench: put from one client (the fsync-bound case) and from 100
# clients over 10 connections (8-byte keys, 256-byte values), linearizable
# and serializable range with 100 clients, txn-put, lease keep-alive. Also
# measures the disk's fdatasync latency, the floor under one client's
# sequential puts, and runs `etcdctl check perf` (--load=s, and m unless
# --quick) against both. Writes the table to Docs/benchmarks.md, then runs
# the watch fan-out and storage scripts (unless --cluster-only), so that
# one command measures the whole suite.
#   scripts/bench.sh [--quick] [--no-record] [--rounds N] [--cluster-only]
#     --quick      about a tenth of the requests, one round (under 5 minutes after the build)
#     --rounds N   rounds of the suite per server, alternating (default 3; 1 with --quick)
#     --cluster-only  skip what follows the cluster suite: scripts/bench-watch.sh
#                  (watch fan-out) and scripts/bench-storage.sh (RSS and restart
#                  time with 1M keys; 100,000 with --quick), run with the same flags
#     --no-record  print the table, leave Docs/benchmarks.md alone
# BENCH_NO_BUILD=1 reuses an existing release build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench-servers.sh

bench_takes_rounds=yes
# --cluster-only: the three-member suite alone, without the watch fan-out
# and storage scripts that otherwise follow it.
cluster_only=no
args=()
for arg in "$@"; do
  if [ "$arg" = --cluster-only ]; then cluster_only=yes; else args+=("$arg"); fi
done
bench_parse_options "${args[@]+"${args[@]}"}"
if [ "$quick" = yes ]; then
  sequential=1000 many=10000 reads=20000 txns=10000 keepalives=20000
  rounds="${rounds:-1}"
else
  sequential=5000 many=100000 reads=200000 txns=100000 keepalives=200000
  rounds="${rounds:-3}"
fi

# `etcdctl check perf` loads to run (each 60 s per server): quick runs only s.
perf_loads=(s m)
if [ "$quick" = yes ]; then perf_loads=(s); fi

bench_cluster_layout

results="$(mktemp -d "${TMPDIR:-/tmp}/swift-etcd-bench.results.XXXXXX")"
bench_keep_logs="$results/logs"
finished=no
# Results outlive a failed run, for a look at what was measured.
trap 'bench_stop_all; if [ "$finished" = yes ]; then rm -rf "$results"; else echo "results kept in $results" >&2; fi' EXIT

bash scripts/install-deps.sh
bench_build
# The disk before any server runs (again at the end: other work on the
# machine moves it, and the spread is part of the answer).
read -r fsync_p50 fsync_p99 fsync_mean < <(bench_fsync_latency 1000)
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# name and arguments of each benchmark, in table order. Writes go to the
# leader (as etcd's performance docs do); reads go to all members.
keys=(--key-size 8 --val-size 256)
bench_names=()
bench_args=()
add() { bench_names+=("$1"); shift; bench_args+=("$*"); }
add "put (1 client)" put --target-leader --conns 1 --clients 1 --total "$sequential" "${keys[@]}" --key-space-size 100000 --sequential-keys
add "put (100 clients)" put --target-leader --conns 10 --clients 100 --total "$many" "${keys[@]}" --key-space-size 100000 --sequential-keys
add "range linearizable (100 clients)" range 00000001 --conns 10 --clients 100 --total "$reads" --consistency l
add "range serializable (100 clients)" range 00000001 --conns 10 --clients 100 --total "$reads" --consistency s
add "txn-put (100 clients)" txn-put --target-leader --conns 10 --clients 100 --total "$txns" "${keys[@]}" --key-space-size 100000
add "lease keep-alive (100 clients)" lease-keepalive --target-leader --conns 10 --clients 100 --total "$keepalives"

# Rounds alternate the servers (etcd, swift-etcd, etcd, ...), each on a
# fresh cluster, so that a change in the machine's load (other sessions'
# builds) during the run falls on both; each benchmark's row is then the
# round with the median requests/s (whole: its latencies and CPU too).
run_suite() {
  local kind="$1" round="$2" i args
  echo "== $kind (round $round of $rounds)"
  for i in 0 1 2; do
    bench_start_member "$kind" "${names[$i]}" "${client_ports[$i]}" "${peer_ports[$i]}" "$initial"
  done
  bench_wait_healthy "$endpoints"
  for i in "${!bench_names[@]}"; do
    # shellcheck disable=SC2206 # the arguments are word lists by design
    args=(${bench_args[$i]})
    "$bench_bin/swift-etcd-bench" --endpoints "$endpoints" "${args[@]}" --request-timeout 10 --deadline 300 \
      --server-pids "$(bench_pid_list)" -w json > "$results/$kind.$i.r$round.json" || true
    python3 -c 'import json,sys
lines=[l for l in open(sys.argv[1]).read().splitlines() if l.startswith("{")]
r=json.loads(lines[-1]) if lines else None
print("  %-34s %s" % (sys.argv[2], "failed to run" if r is None else "%9.0f req/s  p99 %7.2f ms  %.3f ms cpu/req  %d failed" % (r["requests_per_second"], r["latency"]["p99_ms"], r.get("server_cpu_ms_per_request") or 0, r["failed"])))' \
      "$results/$kind.$i.r$round.json" "${bench_names[$i]}"
  done
  # etcd's own verdict on the cluster: `etcdctl check perf` (60 s per
  # load), in the first round only.
  if [ "$round" = 1 ]; then
    for load in "${perf_loads[@]}"; do
      if env -u ETCDCTL_ENDPOINTS ETCDCTL_API=3 etcdctl --endpoints="$endpoints" check perf --load="$load" \
           > "$results/$kind.perf.$load.log" 2>&1; then
        verdict=PASS
      else
        verdict=FAIL
      fi
      echo "$verdict" > "$results/$kind.perf.$load"
      echo "  etcdctl check perf --load=$load: $verdict"
    done
  fi
  bench_stop_all
}

for round in $(seq 1 "$rounds"); do
  for kind in etcd swift-etcd; do run_suite "$kind" "$round"; done
done

# The report names results by benchmark; link the numbered files to them.
table_names=""
for i in "${!bench_names[@]}"; do
  for kind in etcd swift-etcd; do
    python3 - "$results" "$kind" "$i" "$rounds" "${bench_names[$i]}" <<'PY'
import json, os, shutil, sys
results, kind, i, rounds, name = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
runs = []
for r in range(1, rounds + 1):
    path = f"{results}/{kind}.{i}.r{r}.json"
    lines = [l for l in open(path).read().splitlines() if l.startswith("{")] if os.path.exists(path) else []
    if lines:
        runs.append((json.loads(lines[-1])["requests_per_second"], path))
if runs:
    runs.sort()
    shutil.copy(runs[(len(runs) - 1) // 2][1], f"{results}/{kind}.{name}.json")
PY
  done
  table_names+="${table_names:+,}${bench_names[$i]}"
done

read -r fsync_p50_after fsync_p99_after fsync_mean_after < <(bench_fsync_latency 1000)
# (A command substitution that ends false would fail the assignment under set -e.)
mode=full quick_flag="" rounds_flag=""
if [ "$quick" = yes ]; then mode=quick quick_flag=" --quick"; fi
if { [ "$quick" = yes ] && [ "$rounds" != 1 ]; } || { [ "$quick" = no ] && [ "$rounds" != 3 ]; }; then rounds_flag=" --rounds $rounds"; fi
etcd_version="$(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p')"
commands=""
for i in "${!bench_names[@]}"; do
  commands+="swift-etcd-bench --endpoints $endpoints ${bench_args[$i]} --request-timeout 10 --deadline 300 --server-pids <pids> -w json"$'\n'
done
header="### Three-member cluster, $(date -u +%Y-%m-%d) (${mode})

$(nproc) cores (shared with other builds; client and all three members on the same machine and disk), etcd $etcd_version (Debian), swift-etcd $(git rev-parse --short HEAD) release build; each server a fresh cluster on 127.0.0.1 (clients $endpoints), data in ${TMPDIR:-/tmp}. Server CPU is the three members' user + system time over the run, per successful request. ${rounds} round(s) per server, alternating etcd and swift-etcd on fresh clusters; each row is the round with the median requests/s.

Load average before the run: ${load_before}. The disk: fdatasync after a 4 KiB append to a preallocated file (a WAL's write) took ${fsync_p50} ms at the median before the run (p99 ${fsync_p99}, mean ${fsync_mean}) and ${fsync_p50_after} ms after it (p99 ${fsync_p99_after}, mean ${fsync_mean_after}). A put is acknowledged only after a majority has synced it, so one client's sequential puts cannot exceed about $(python3 -c "print(round(1000 / max($fsync_p50, 0.001)))") per second (1 / median sync, before the run) here, and reach that only if the leader's sync and a follower's overlap (the leader sending its appends before its own sync); done one after the other the ceiling halves.

\`\`\`
scripts/bench.sh${quick_flag}${rounds_flag}
${commands}\`\`\`

$(for load in "${perf_loads[@]}"; do
  echo "\`etcdctl check perf --load=$load\`: etcd $(cat "$results/etcd.perf.$load" 2>/dev/null || echo '-'), swift-etcd $(cat "$results/swift-etcd.perf.$load" 2>/dev/null || echo '-')."
done)

$(python3 - "$results" "$rounds" "$table_names" <<'PY'
import json, os, sys
results, rounds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
if rounds > 1:
    print("Requests/s of each round (etcd; swift-etcd):")
    print()
    for i, name in enumerate(names):
        cells = []
        for kind in ("etcd", "swift-etcd"):
            values = []
            for r in range(1, rounds + 1):
                path = f"{results}/{kind}.{i}.r{r}.json"
                lines = [l for l in open(path).read().splitlines() if l.startswith("{")] if os.path.exists(path) else []
                values.append(f"{json.loads(lines[-1])['requests_per_second']:,.0f}" if lines else "-")
            cells.append(", ".join(values))
        print(f"- {name}: {cells[0]}; {cells[1]}")
    print()
PY
)"
doc_args=()
[ "$record" = yes ] && doc_args=(--doc Docs/benchmarks.md)
python3 scripts/bench-report.py kv "$results" --names "$table_names" --marker bench-cluster --header "$header" "${doc_args[@]}"
finished=yes

# The rest of the suite, each recorded in its own block: the watch
# fan-out, and one member's puts, RSS and restart time with 1M keys
# (100,000 with --quick).
if [ "$cluster_only" = no ]; then
  pass=()
  [ "$quick" = yes ] && pass+=(--quick)
  [ "$record" = no ] && pass+=(--no-record)
  echo
  echo "== watch fan-out (scripts/bench-watch.sh)"
  BENCH_NO_BUILD=1 bash scripts/bench-watch.sh "${pass[@]+"${pass[@]}"}"
  echo
  echo "== one member with many keys (scripts/bench-storage.sh)"
  BENCH_NO_BUILD=1 bash scripts/bench-storage.sh "${pass[@]+"${pass[@]}"}"
fi
