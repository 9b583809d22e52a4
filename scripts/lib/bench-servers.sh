# Shared by scripts/bench.sh and scripts/bench-watch.sh (source it; bash).
# Starts etcd or swift-etcd members on 127.0.0.1 with the flags
# scripts/cluster.sh uses (etcd takes the same ones), waits for health,
# stops exactly the PIDs it started, and removes their data directories.
# Ports are never etcd's defaults (2379-4380 belong to other sessions).

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bench_config="release"
bench_bin=""          # set by bench_build
bench_pids=()         # PIDs started by bench_start_member, in order
bench_dirs=()         # their temporary directories
bench_keep_logs=""    # where logs are copied when a start fails

# The options every benchmark script takes: sets quick=yes|no and
# record=yes|no (and rounds, from --rounds N, where the script sets
# bench_takes_rounds=yes); anything else prints the usage and exits 2.
bench_parse_options() {
  quick=no
  record=yes
  rounds=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --quick) quick=yes; shift ;;
      --no-record) record=no; shift ;;
      --rounds)
        if [ "${bench_takes_rounds:-no}" != yes ] || ! [[ "${2:-}" =~ ^[1-9][0-9]?$ ]]; then bench_usage; fi
        rounds="$2"; shift 2 ;;
      *) bench_usage ;;
    esac
  done
}

bench_usage() {
  local r=""
  [ "${bench_takes_rounds:-no}" = yes ] && r=" [--rounds N]"
  echo "usage: scripts/$(basename "$0") [--quick] [--no-record]$r" >&2
  exit 2
}

# Builds swift-etcd and swift-etcd-bench (release). One product per
# invocation: given several --product flags, swift build builds the last.
# BENCH_NO_BUILD=1 reuses an existing build.
bench_build() {
  cd "$bench_root"
  bench_bin="$(swift build -c "$bench_config" --show-bin-path)"
  if [ "${BENCH_NO_BUILD:-}" = 1 ] && [ -x "$bench_bin/swift-etcd" ] && [ -x "$bench_bin/swift-etcd-bench" ]; then
    echo "reusing the build in $bench_bin"
    return
  fi
  echo "building swift-etcd and swift-etcd-bench ($bench_config; a first build takes several minutes on 2 cores)..."
  swift build -c "$bench_config" --product swift-etcd
  swift build -c "$bench_config" --product swift-etcd-bench
}

# The three-member layout of bench.sh and bench-ab.sh: sets names,
# client_ports, peer_ports, and from them initial (--initial-cluster) and
# endpoints (the clients' list).
bench_cluster_layout() {
  names=(node1 node2 node3)
  client_ports=(22379 23379 24379)
  peer_ports=(22380 23380 24380)
  initial=""
  endpoints=""
  local i
  for i in 0 1 2; do
    initial+="${initial:+,}${names[$i]}=http://127.0.0.1:${peer_ports[$i]}"
    endpoints+="${endpoints:+,}127.0.0.1:${client_ports[$i]}"
  done
}

# The command that runs a member of the given kind (etcd, swift-etcd, or
# the absolute path of a swift-etcd binary).
bench_server_binary() {
  case "$1" in
    etcd) command -v etcd ;;
    swift-etcd) echo "$bench_bin/swift-etcd" ;;
    /*) echo "$1" ;;  # a binary by path (scripts/bench-ab.sh)
    *) echo "unknown server kind $1" >&2; return 1 ;;
  esac
}

# bench_start_member KIND NAME CLIENT_PORT PEER_PORT INITIAL_CLUSTER
bench_start_member() {
  local kind="$1" name="$2" cport="$3" pport="$4" initial="$5"
  local dir bin label="${kind//\//_}"
  dir="$(mktemp -d "${TMPDIR:-/tmp}/swift-etcd-bench.$label.$name.XXXXXX")"
  bin="$(bench_server_binary "$kind")"
  local c="http://127.0.0.1:$cport" p="http://127.0.0.1:$pport"
  "$bin" --name "$name" --data-dir "$dir/data" \
    --listen-client-urls "$c" --advertise-client-urls "$c" \
    --listen-peer-urls "$p" --initial-advertise-peer-urls "$p" \
    --initial-cluster "$initial" --initial-cluster-state new \
    --initial-cluster-token "bench-$label" > "$dir/log" 2>&1 &
  bench_pids+=("$!")
  bench_dirs+=("$dir")
}

# bench_wait_healthy ENDPOINTS: every endpoint answers a linearizable read
# (so a leader exists); 30 s at most.
bench_wait_healthy() {
  local endpoints="$1"
  for _ in $(seq 1 150); do
    if env -u ETCDCTL_ENDPOINTS ETCDCTL_API=3 etcdctl --endpoints="$endpoints" --command-timeout=2s \
         endpoint health >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  echo "servers at $endpoints did not become healthy; last log lines:" >&2
  for dir in "${bench_dirs[@]}"; do tail -n 5 "$dir/log" >&2 || true; done
  return 1
}

# The started PIDs, comma-separated, for --server-pids.
bench_pid_list() {
  local IFS=,
  echo "${bench_pids[*]}"
}

# Stops what bench_start_member started: SIGTERM, then SIGKILL after 10 s;
# removes the data directories. Safe to call twice (the EXIT trap does).
bench_stop_all() {
  local pid
  for pid in "${bench_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${bench_pids[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  done
  local dir
  for dir in "${bench_dirs[@]}"; do
    if [ -n "$bench_keep_logs" ] && [ -f "$dir/log" ]; then
      mkdir -p "$bench_keep_logs"
      cp "$dir/log" "$bench_keep_logs/$(basename "$dir").log"
    fi
    rm -rf "$dir"
  done
  bench_pids=()
  bench_dirs=()
}

# Median and p99 of fdatasync after a 4 KiB append to a preallocated file
# (how a WAL syncs), in the directory the servers write to: the floor under
# one client's sequential writes. Prints "p50_ms p99_ms mean_ms".
bench_fsync_latency() {
  local count="${1:-1000}"
  python3 - "$count" "${TMPDIR:-/tmp}" <<'PY'
import os, sys, tempfile, time
count, where = int(sys.argv[1]), sys.argv[2]
fd, path = tempfile.mkstemp(dir=where, prefix="fsync-probe.")
try:
    os.posix_fallocate(fd, 0, 64 << 20)
    os.fsync(fd)
    samples = []
    block = b"x" * 4096
    for _ in range(count):
        os.write(fd, block)
        start = time.perf_counter()
        os.fdatasync(fd)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    print("%.3f %.3f %.3f" % (samples[len(samples) // 2], samples[int(len(samples) * 0.99)], sum(samples) / len(samples)))
finally:
    os.close(fd)
    os.unlink(path)
PY
}
