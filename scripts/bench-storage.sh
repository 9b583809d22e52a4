#!/usr/bin/env bash
# Storage benchmark (issue 5), etcd 3.4 against swift-etcd in one run.
# For each server in turn, a fresh single member on 127.0.0.1 (client
# 25790, peer 25800), fsync on as always:
#   - sequential puts from one client (the fsync-bound case),
#   - concurrent puts from 100 clients that load N keys x 256-byte values,
#   - the member's RSS with those keys,
#   - kill -9, restart on the same data directory: the time until it
#     serves a linearizable read of the last key, and its RSS then.
# Writes the table to Docs/benchmarks.md.
#   scripts/bench-storage.sh [--quick] [--no-record]
#     --quick      100,000 keys (default 1,000,000)
#     --no-record  print the table, leave Docs/benchmarks.md alone
# BENCH_NO_BUILD=1 reuses an existing release build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench-servers.sh

bench_parse_options "$@"
if [ "$quick" = yes ]; then keys=100000 sequential=1000; else keys=1000000 sequential=3000; fi
cport=25790
pport=25800
endpoint="127.0.0.1:$cport"

results="$(mktemp -d "${TMPDIR:-/tmp}/swift-etcd-bench.storage.XXXXXX")"
bench_keep_logs="$results/logs"
finished=no
trap 'bench_stop_all; if [ "$finished" = yes ]; then rm -rf "$results"; else echo "results kept in $results" >&2; fi' EXIT

bash scripts/install-deps.sh
bench_build
read -r fsync_p50 fsync_p99 _ < <(bench_fsync_latency 1000)

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
ctl() { env -u ETCDCTL_ENDPOINTS ETCDCTL_API=3 etcdctl --endpoints="$endpoint" --command-timeout=2s "$@"; }
# The last key the load writes (keys are zero-padded decimals, as the tool makes them).
last_key="$(printf '%08d' $((keys - 1)))"

for kind in etcd swift-etcd; do
  echo "== $kind"
  bench_start_member "$kind" n1 "$cport" "$pport" "n1=http://127.0.0.1:$pport"
  bench_wait_healthy "$endpoint"
  pid="${bench_pids[0]}"
  dir="${bench_dirs[0]}"
  "$bench_bin/swift-etcd-bench" --endpoints "$endpoint" put --conns 1 --clients 1 --total "$sequential" \
    --key-size 8 --val-size 256 --sequential-keys --key-space-size "$sequential" -w json \
    --request-timeout 10 --deadline 600 > "$results/$kind.sequential.json"
  "$bench_bin/swift-etcd-bench" --endpoints "$endpoint" put --conns 10 --clients 100 --total "$keys" \
    --key-size 8 --val-size 256 --sequential-keys --key-space-size "$keys" -w json \
    --request-timeout 10 --deadline 3000 > "$results/$kind.load.json"
  # Let batched backend commits settle before reading memory.
  sleep 2
  rss_loaded="$(rss_kb "$pid")"
  ctl get "$last_key" --print-value-only | wc -c > "$results/$kind.lastvalue"

  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  # Restart the same member on the same data directory.
  bin="$(bench_server_binary "$kind")"
  c="http://127.0.0.1:$cport" p="http://127.0.0.1:$pport"
  start_ns="$(date +%s%N)"
  "$bin" --name n1 --data-dir "$dir/data" \
    --listen-client-urls "$c" --advertise-client-urls "$c" \
    --listen-peer-urls "$p" --initial-advertise-peer-urls "$p" \
    --initial-cluster "n1=$p" --initial-cluster-state new \
    --initial-cluster-token "bench-$kind" >> "$dir/log" 2>&1 &
  pid="$!"
  bench_pids=("$pid")
  restarted=no
  for _ in $(seq 1 6000); do
    if [ "$(ctl get "$last_key" --print-value-only 2>/dev/null | wc -c)" -gt 1 ]; then restarted=yes; break; fi
    sleep 0.05
  done
  end_ns="$(date +%s%N)"
  [ "$restarted" = yes ] || { echo "$kind did not serve $last_key after a restart" >&2; exit 1; }
  restart_ms=$(( (end_ns - start_ns) / 1000000 ))
  sleep 1
  rss_restarted="$(rss_kb "$pid")"
  du -sk "$dir/data" | cut -f1 > "$results/$kind.disk"
  echo "$rss_loaded $restart_ms $rss_restarted" > "$results/$kind.numbers"
  echo "  loaded $keys keys: RSS $((rss_loaded / 1024)) MiB; restart ${restart_ms} ms; RSS after restart $((rss_restarted / 1024)) MiB"
  bench_stop_all
done

mode=full quick_flag=""
if [ "$quick" = yes ]; then mode=quick quick_flag=" --quick"; fi
table="$(python3 - "$results" "$keys" <<'PY'
import json, sys
results, keys = sys.argv[1], int(sys.argv[2])
def last(path):
    lines = [l for l in open(path).read().splitlines() if l.startswith("{")]
    return json.loads(lines[-1])
rows = []
vals = {}
for kind in ("etcd", "swift-etcd"):
    seq = last(f"{results}/{kind}.sequential.json")
    load = last(f"{results}/{kind}.load.json")
    rss, restart, rss2 = (int(x) for x in open(f"{results}/{kind}.numbers").read().split())
    disk = int(open(f"{results}/{kind}.disk").read().split()[0])
    vals[kind] = {
        "put, 1 client (req/s)": seq["requests_per_second"],
        "put, 100 clients (req/s)": load["requests_per_second"],
        "put, 100 clients p99 (ms)": load["latency"]["p99_ms"],
        f"RSS with {keys:,} keys (MiB)": rss / 1024,
        "restart until serving (ms)": restart,
        "RSS after restart (MiB)": rss2 / 1024,
        "data directory (MiB)": disk / 1024,
    }
print("| measure | etcd | swift-etcd | swift-etcd / etcd |")
print("|---|---:|---:|---:|")
for name in vals["etcd"]:
    e, s = vals["etcd"][name], vals["swift-etcd"][name]
    ratio = s / e if e else float("nan")
    print(f"| {name} | {e:,.1f} | {s:,.1f} | {ratio:.2f}x |")
PY
)"
echo "$table"
if [ "$record" = yes ]; then
  section="### Storage, $(date -u +%Y-%m-%d) (${mode})

$(nproc) cores (shared with other builds); single member on 127.0.0.1, fsync on; keys 8 bytes, values 256 bytes; the disk's fdatasync took ${fsync_p50} ms at the median (p99 ${fsync_p99}). Restart is from \`kill -9\` to the first linearizable read of the last key loaded. Command: \`scripts/bench-storage.sh${quick_flag}\`.

$table"
  python3 - "$section" <<'PY'
import re, sys
section = sys.argv[1]
path = "Docs/benchmarks.md"
text = open(path).read()
start, end = "<!-- bench-storage:start -->", "<!-- bench-storage:end -->"
block = f"{start}\n{section}\n{end}"
if start in text:
    text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n" + block + "\n"
open(path, "w").write(text)
PY
  echo "recorded in Docs/benchmarks.md"
fi
finished=yes
