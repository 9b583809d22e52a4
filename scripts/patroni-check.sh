#!/usr/bin/env bash
# The Patroni check (issue #9): Debian's Patroni, with its etcd3 DCS (which
# speaks etcd's JSON gateway over HTTP/1.1, not gRPC), managing three
# PostgreSQL 15 nodes on a three-member etcd-compatible cluster.
#
#   scripts/patroni-check.sh [--server etcd|swift-etcd|both] [--bin PATH] [--auth] [--keep-logs DIR]
#
# For each server (default: etcd 3.4, then swift-etcd) it
#   1. starts three members on 127.0.0.1 (client 32379/33379/34379, peer
#      32380/33380/34380) and three Patroni nodes as the postgres user
#      (PostgreSQL 35432-35434, REST API 38008-38010), all under one temp dir;
#   2. waits until exactly one node is primary (REST `GET /primary` -> 200)
#      and the other two stream from it (`GET /replica` -> 200);
#   3. writes a row through the primary and waits until both replicas have it;
#   4. kill -9s the primary's node (its Patroni and its postgres processes)
#      and waits until one of the replicas is primary, then reads the row there;
#   5. kill -9s the member that leads the cluster and that the new primary's
#      Patroni talks to (moving the leadership there first if need be), and
#      checks once a second for 30 s that the new primary keeps its leader
#      key on the two members left, then writes through it once more.
# With --auth, etcd's auth is enabled first (through the gateway) and
# Patroni logs in as a user that may only read and write /service/.
# It prints PASS or FAIL with timings per server, kills only the PIDs it
# started (checked against their command lines) and removes its temp dirs
# on every exit path. A check takes about a minute per server.
#
# swift-etcd is built (release, through /tmp/swift-build.lock) unless
# --bin PATH or SWIFT_ETCD_BIN=PATH names a binary. Needs root: it installs
# Debian packages and runs Patroni and PostgreSQL as the postgres user.
# Bounds (seconds) can be changed with PATRONI_CHECK_PRIMARY_TIMEOUT (180),
# PATRONI_CHECK_FAILOVER_TIMEOUT (90) and PATRONI_CHECK_HOLD (30);
# PATRONI_CHECK_LOG_LEVEL (INFO) is Patroni's log level.
set -euo pipefail
cd "$(dirname "$0")/.."

client_ports=(32379 33379 34379)
peer_ports=(32380 33380 34380)
pg_ports=(35432 35433 35434)
rest_ports=(38008 38009 38010)
members=(m1 m2 m3)
pg_nodes=(pg1 pg2 pg3)

primary_timeout="${PATRONI_CHECK_PRIMARY_TIMEOUT:-180}"
failover_timeout="${PATRONI_CHECK_FAILOVER_TIMEOUT:-90}"
hold_seconds="${PATRONI_CHECK_HOLD:-30}"
log_level="${PATRONI_CHECK_LOG_LEVEL:-INFO}"
pg_bin_dir=/usr/lib/postgresql/15/bin

usage() {
  echo "usage: scripts/patroni-check.sh [--server etcd|swift-etcd|both] [--bin PATH] [--auth] [--keep-logs DIR]" >&2
  exit 2
}

servers=both
swift_bin="${SWIFT_ETCD_BIN:-}"
keep_logs=""
auth=no
while [ $# -gt 0 ]; do
  case "$1" in
    --server) [ $# -ge 2 ] || usage; servers="$2"; shift ;;
    --bin) [ $# -ge 2 ] || usage; swift_bin="$2"; shift ;;
    --keep-logs) [ $# -ge 2 ] || usage; keep_logs="$2"; shift ;;
    --auth) auth=yes ;;
    -h|--help) usage ;;
    *) usage ;;
  esac
  shift
done
case "$servers" in
  both) kinds=(etcd swift-etcd) ;;
  etcd|swift-etcd) kinds=("$servers") ;;
  *) usage ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "patroni-check: run as root (installs packages, runs postgres as the postgres user)" >&2; exit 2; }

# ---------------------------------------------------------------- set-up

# Patroni's etcd3 DCS talks to the gateway with urllib3 itself; it imports
# python-etcd (python3-etcd) only for its base client class, so neither
# python3-etcd3 nor grpc is needed.
install_packages() {
  local pkgs=(patroni python3-etcd postgresql postgresql-15 curl python3 util-linux)
  if [[ " ${kinds[*]} " == *" etcd "* ]]; then pkgs+=(etcd-server); fi
  local missing=() p
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  id postgres >/dev/null 2>&1 || { echo "patroni-check: no postgres user after installing postgresql" >&2; exit 1; }
}

build_swift_etcd() {
  if [ -n "$swift_bin" ]; then
    [ -x "$swift_bin" ] || { echo "patroni-check: $swift_bin is not an executable" >&2; exit 2; }
    swift_bin=$(cd "$(dirname "$swift_bin")" && pwd)/$(basename "$swift_bin")
    return
  fi
  echo "building swift-etcd (release, waiting for /tmp/swift-build.lock; a first build takes ~11 minutes on 2 cores)..."
  flock /tmp/swift-build.lock swift build -c release --product swift-etcd
  swift_bin="$(swift build -c release --show-bin-path)/swift-etcd"
}

# ------------------------------------------------------------- utilities

run_dir=""           # the current run's temp dir (everything lives under it)
started_pids=()      # Patroni and server PIDs of the current run
run_start=0          # EPOCHREALTIME at the start of the run

# Seconds since the run started, one decimal.
elapsed() { awk -v a="$run_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[%6ss] %s\n' "$(elapsed)" "$*"; }

# Whether PID is alive and one of ours: a child of this shell (the members
# and Patroni), or a process whose command line names the run dir (every
# process started here or by Patroni, such as the postmaster).
ours() {
  local pid="$1"
  [ -n "$run_dir" ] && [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  [ "$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null)" = "$$" ] && return 0
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$run_dir"
}

# kill -9 the given PIDs at once. Callers pass only PIDs they started or
# checked (ours, or postgres_pids).
kill_pids() {
  [ $# -gt 0 ] || return 0
  kill -9 "$@" 2>/dev/null || true
}

# kill -9 the given PIDs that are ours (others are left alone).
kill_ours() {
  local pid mine=()
  for pid in "$@"; do ours "$pid" && mine+=("$pid"); done
  kill_pids ${mine[@]+"${mine[@]}"}
}

# Waits (5 s at most) until none of the given PIDs is alive.
wait_gone() {
  local pid
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.1
  done
  return 1
}

# The postmaster of a node and its children (backends, walsender, ...), if
# it runs. Patroni starts the postmaster in its own session, so it is not
# Patroni's child; it is ours if its command line names our data dir. Its
# children rewrite their command lines (process titles), so they are ours
# if their parent is that postmaster.
postgres_pids() {
  local data="$run_dir/$1/data" pm pid
  [ -f "$data/postmaster.pid" ] || return 0
  pm=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
  [ -n "$pm" ] && ours "$pm" || return 0
  echo "$pm"
  for pid in $(pgrep -P "$pm" || true); do
    [ "$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null)" = "$pm" ] && echo "$pid"
  done
  return 0
}

# The SysV shared memory id in a node's postmaster.pid (a killed postmaster
# leaves its small segment behind; cleanup removes it).
postgres_shmid() {
  local data="$run_dir/$1/data"
  if [ -f "$data/postmaster.pid" ]; then sed -n 7p "$data/postmaster.pid" | awk '{ print $2 }'; fi
}
shmids=()

patroni_pid_of() { cat "$run_dir/$1/patroni.pid" 2>/dev/null || true; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# HTTP status of a Patroni REST endpoint ("000" when it does not answer).
rest_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1$2" 2>/dev/null || true
}

psql_at() {
  local port="$1"; shift
  PGCONNECT_TIMEOUT=3 psql -X -q -tA -v ON_ERROR_STOP=1 \
    "host=127.0.0.1 port=$port user=postgres dbname=postgres" "$@"
}

# Stops everything the current run started and removes its temp dir.
# Safe to call twice (the EXIT trap calls it too).
cleanup_run() {
  [ -n "$run_dir" ] || return 0
  local pids=() node pid
  for node in "${pg_nodes[@]}"; do
    local shmid; shmid=$(postgres_shmid "$node"); [ -n "$shmid" ] && shmids+=("$shmid")
    while read -r pid; do [ -n "$pid" ] && pids+=("$pid"); done < <(postgres_pids "$node")
  done
  # Patroni and the members, if still ours (a PID may have been reused).
  for pid in ${started_pids[@]+"${started_pids[@]}"}; do ours "$pid" && pids+=("$pid"); done
  # In one go, so that Patroni cannot restart a postgres killed under it.
  kill_pids ${pids[@]+"${pids[@]}"}
  wait_gone ${pids[@]+"${pids[@]}"} || echo "patroni-check: some processes outlived kill -9: ${pids[*]}" >&2
  # A killed postmaster's SysV segment, once nothing is attached to it.
  local id
  for id in ${shmids[@]+"${shmids[@]}"}; do
    local info; info=$(ipcs -m -i "$id" 2>/dev/null) || continue
    if grep -q "^uid=$(id -u postgres)[[:space:]]" <<< "$info" && grep -q 'nattch=0$' <<< "$info"; then
      ipcrm -m "$id" 2>/dev/null || true
    fi
  done
  if [ -n "$keep_logs" ]; then
    local dest; dest="$keep_logs/$(basename "$run_dir")"
    mkdir -p "$dest"
    (cd "$run_dir" && find . -name '*.log' -exec cp --parents {} "$dest" \;) || true
    echo "logs kept in $dest"
  fi
  rm -rf "$run_dir"
  run_dir=""
  started_pids=()
  shmids=()
}
trap 'cleanup_run' EXIT
trap 'exit 130' INT TERM

show_logs() {
  echo "---- last log lines ----"
  local f
  for f in "$run_dir"/*/*.log; do
    [ -f "$f" ] || continue
    echo "== ${f#"$run_dir"/}"
    tail -n 25 "$f"
  done
  echo "------------------------"
}

# ------------------------------------------------------------ the cluster

start_members() {
  local kind="$1" bin initial="" i
  case "$kind" in
    etcd) bin=/usr/bin/etcd ;;
    swift-etcd) bin="$swift_bin" ;;
  esac
  for i in 0 1 2; do initial+="${initial:+,}${members[$i]}=http://127.0.0.1:${peer_ports[$i]}"; done
  for i in 0 1 2; do
    local dir="$run_dir/${members[$i]}"
    local c="http://127.0.0.1:${client_ports[$i]}" p="http://127.0.0.1:${peer_ports[$i]}"
    mkdir -p "$dir"
    "$bin" --name "${members[$i]}" --data-dir "$dir/data" \
      --listen-client-urls "$c" --advertise-client-urls "$c" \
      --listen-peer-urls "$p" --initial-advertise-peer-urls "$p" \
      --initial-cluster "$initial" --initial-cluster-state new \
      --initial-cluster-token "patroni-check-$kind" > "$dir/server.log" 2>&1 &
    started_pids+=("$!")
    disown "$!"  # no "Killed" job notices from bash
    echo "$!" > "$dir/pid"
  done
  # Every member answers /health true (a leader exists): 30 s at most.
  local healthy
  for _ in $(seq 1 150); do
    healthy=0
    for i in 0 1 2; do
      curl -s --max-time 2 "http://127.0.0.1:${client_ports[$i]}/health" 2>/dev/null | grep -q '"health":"true"' \
        && healthy=$((healthy + 1))
    done
    [ "$healthy" = 3 ] && return 0
    sleep 0.2
  done
  echo "the $kind members did not become healthy in 30 s" >&2
  return 1
}

# Enables auth through the gateway of member 1, as an operator would with
# etcdctl: root (needed to enable it) and a user "patroni" whose role may
# read and write /service/ only. Every step must answer 200.
patroni_password=patroni-check-pw
enable_auth() {
  local url="http://127.0.0.1:${client_ports[0]}/v3/auth" service end
  service=$(printf /service/ | base64); end=$(printf /service0 | base64)
  local step path body
  for step in \
    'role/add|{"name":"root"}' \
    'user/add|{"name":"root","password":"root-check-pw"}' \
    'user/grant|{"user":"root","role":"root"}' \
    'role/add|{"name":"patroni"}' \
    "role/grant|{\"name\":\"patroni\",\"perm\":{\"permType\":\"READWRITE\",\"key\":\"$service\",\"range_end\":\"$end\"}}" \
    "user/add|{\"name\":\"patroni\",\"password\":\"$patroni_password\"}" \
    'user/grant|{"user":"patroni","role":"patroni"}' \
    'enable|{}'; do
    path="${step%%|*}" body="${step#*|}"
    local code
    code=$(curl -s -o "$run_dir/auth-answer" -w '%{http_code}' --max-time 10 -X POST "$url/$path" -d "$body") || code=000
    if [ "$code" != 200 ]; then
      echo "auth/$path answered $code: $(cat "$run_dir/auth-answer" 2>/dev/null)" >&2
      return 1
    fi
  done
}

write_patroni_config() {
  local i="$1" node="${pg_nodes[$1]}" hosts="" j
  for j in 0 1 2; do hosts+="${hosts:+,}127.0.0.1:${client_ports[$j]}"; done
  local dir="$run_dir/$node"
  mkdir -p "$dir"
  cat > "$dir/patroni.yml" <<EOF
scope: patroni-check
namespace: /service/
name: $node
log:
  level: $log_level
restapi:
  listen: 127.0.0.1:${rest_ports[$i]}
  connect_address: 127.0.0.1:${rest_ports[$i]}
etcd3:
  hosts: $hosts
$([ "$auth" = yes ] && printf '  username: patroni\n  password: %s\n' "$patroni_password")
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 2
    retry_timeout: 5
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: false
      parameters:
        wal_level: replica
        hot_standby: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 64MB
  initdb:
  - encoding: UTF8
  - auth: trust
postgresql:
  listen: 127.0.0.1:${pg_ports[$i]}
  connect_address: 127.0.0.1:${pg_ports[$i]}
  data_dir: $dir/data
  bin_dir: $pg_bin_dir
  pgpass: $dir/pgpass
  authentication:
    superuser:
      username: postgres
      password: patroni-check
    replication:
      username: replicator
      password: patroni-check
  parameters:
    unix_socket_directories: '$dir'
    shared_buffers: 16MB
  pg_hba:
  - local all all trust
  - host all all 127.0.0.1/32 trust
  - host replication replicator 127.0.0.1/32 trust
watchdog:
  mode: 'off'
tags:
  nofailover: false
  noloadbalance: false
EOF
  chown -R postgres:postgres "$dir"
}

# Patroni as the postgres user, from its own directory; exec keeps the PID
# (setpriv and env exec too), so the PID recorded is Patroni's.
start_patroni() {
  local node="${pg_nodes[$1]}" dir="$run_dir/${pg_nodes[$1]}"
  (cd "$dir" && exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
     env HOME="$dir" PGPASSFILE="$dir/pgpass" patroni "$dir/patroni.yml" > "$dir/patroni.log" 2>&1) &
  started_pids+=("$!")
  disown "$!"
  echo "$!" > "$dir/patroni.pid"
}

# The nodes (indexes) whose REST API answers 200 to PATH, among "$@".
nodes_answering() {
  local path="$1"; shift
  local i out=()
  for i in "$@"; do [ "$(rest_status "${rest_ports[$i]}" "$path")" = 200 ] && out+=("$i"); done
  echo "${out[*]:-}"
}

patronictl_list() {
  timeout 20 patronictl -c "$run_dir/${pg_nodes[$1]}/patroni.yml" list 2>/dev/null | sed 's/^/    /' || true
}

# "MEMBER_ID LEADER_ID" of member $1, from Maintenance.Status through its
# gateway (empty if it does not answer).
member_status() {
  curl -s --max-time 2 -X POST "http://127.0.0.1:${client_ports[$1]}/v3/maintenance/status" -d '{}' 2>/dev/null \
    | python3 -c 'import json, sys; s = json.load(sys.stdin); print(s["header"]["member_id"], s.get("leader", ""))' \
      2>/dev/null || true
}

# The index of the member leading the cluster.
leader_index() {
  local i out ids=() leader=""
  for i in 0 1 2; do
    out=$(member_status "$i")
    ids[i]="${out%% *}"
    [ -n "$out" ] && [ -z "$leader" ] && leader="${out#* }"
  done
  [ -n "$leader" ] || return 1
  for i in 0 1 2; do [ "${ids[$i]}" = "$leader" ] && { echo "$i"; return 0; }; done
  return 1
}

# The index of the member a Patroni process (PID $1) holds the most
# established connections to: its watch and its requests go there.
patroni_member_index() {
  python3 - "$1" "${client_ports[@]}" <<'PY'
import os, sys
pid, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
inodes = set()
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        continue
    if target.startswith("socket:["):
        inodes.add(target[8:-1])
counts = [0] * len(ports)
with open(f"/proc/{pid}/net/tcp") as table:
    next(table)
    for row in table:
        f = row.split()
        remote_port, state, inode = int(f[2].split(":")[1], 16), f[3], f[9]
        if state == "01" and inode in inodes and remote_port in ports:
            counts[ports.index(remote_port)] += 1
if max(counts) > 0:
    print(counts.index(max(counts)))
PY
}

# Makes member $2 the leader (MoveLeader through the gateway of the
# current leader $1) and waits for it, 15 s at most.
move_leader() {
  local from="$1" to="$2" target
  target=$(member_status "$to"); target="${target%% *}"
  [ -n "$target" ] || return 1
  curl -s --max-time 10 -X POST "http://127.0.0.1:${client_ports[$from]}/v3/maintenance/transfer-leadership" \
    -d "{\"targetID\":\"$target\"}" > /dev/null 2>&1 || true
  for _ in $(seq 1 75); do
    [ "$(leader_index 2>/dev/null)" = "$to" ] && return 0
    sleep 0.2
  done
  return 1
}

# ---------------------------------------------------------------- the run

fail() {
  say "FAIL ($current_kind): $*"
  show_logs
  results+=("FAIL $current_kind: $*")
  return 1
}

check_one() {
  local kind="$1"
  current_kind="$kind"
  if [ "$auth" = yes ]; then current_kind="$kind with auth"; fi
  echo
  echo "==== Patroni on three $kind members$([ "$auth" = yes ] && echo ", auth enabled") ===="
  local port
  for port in "${client_ports[@]}" "${peer_ports[@]}" "${pg_ports[@]}" "${rest_ports[@]}"; do
    if port_in_use "$port"; then results+=("FAIL $current_kind: port $port is in use"); echo "port $port is in use" >&2; return 1; fi
  done
  run_dir=$(mktemp -d /tmp/patroni-check.XXXXXX)
  chmod 755 "$run_dir"
  run_start=$EPOCHREALTIME

  start_members "$kind" || { fail "members did not start"; return 1; }
  say "three $kind members healthy (client ${client_ports[*]})"
  if [ "$auth" = yes ]; then
    enable_auth || { fail "could not enable auth"; return 1; }
    say "auth enabled; Patroni logs in as patroni (read-write on /service/ only)"
  fi

  local i
  for i in 0 1 2; do write_patroni_config "$i"; start_patroni "$i"; done
  say "three Patroni nodes started (postgres ${pg_ports[*]}, REST ${rest_ports[*]})"

  # 1. exactly one primary, two streaming replicas.
  local t0=$EPOCHREALTIME primaries="" deadline=$((SECONDS + primary_timeout))
  while [ $SECONDS -lt $deadline ]; do
    primaries=$(nodes_answering /primary 0 1 2)
    [ -n "$primaries" ] && [ "$(wc -w <<< "$primaries")" = 1 ] && break
    sleep 1
  done
  if [ -z "$primaries" ] || [ "$(wc -w <<< "$primaries")" != 1 ]; then
    fail "no single primary within ${primary_timeout} s (primaries: '${primaries}')"; return 1
  fi
  local primary=$primaries
  local t_elect; t_elect=$(since "$t0")
  say "${pg_nodes[$primary]} is primary (${t_elect} s after Patroni started)"
  local others=() replicas=""
  for i in 0 1 2; do [ "$i" != "$primary" ] && others+=("$i"); done
  while [ $SECONDS -lt $deadline ]; do
    replicas=$(nodes_answering /replica "${others[@]}")
    [ "$(wc -w <<< "$replicas")" = 2 ] && break
    sleep 1
  done
  [ "$(wc -w <<< "$replicas")" = 2 ] || { fail "replicas not running within ${primary_timeout} s (running: '${replicas}')"; return 1; }
  local t_replicas; t_replicas=$(since "$t0")
  say "${pg_nodes[${others[0]}]} and ${pg_nodes[${others[1]}]} are streaming replicas (${t_replicas} s)"
  patronictl_list "$primary"

  # 2. a row through the primary, on both replicas.
  local note="written through ${pg_nodes[$primary]} on $kind"
  psql_at "${pg_ports[$primary]}" -c "CREATE TABLE patroni_check (id int PRIMARY KEY, note text)" \
    -c "INSERT INTO patroni_check VALUES (1, '$note')" || { fail "could not write through the primary"; return 1; }
  local replicated=0 rdeadline=$((SECONDS + 30))
  while [ $SECONDS -lt $rdeadline ]; do
    replicated=0
    for i in "${others[@]}"; do
      [ "$(psql_at "${pg_ports[$i]}" -c "SELECT note FROM patroni_check WHERE id = 1" 2>/dev/null)" = "$note" ] \
        && replicated=$((replicated + 1))
    done
    [ "$replicated" = 2 ] && break
    sleep 0.5
  done
  [ "$replicated" = 2 ] || { fail "the row did not reach both replicas in 30 s"; return 1; }
  say "row 1 written through ${pg_nodes[$primary]} and read on both replicas"

  # 3. kill -9 the primary's node: Patroni and every postgres process.
  local victims=() pid
  pid=$(patroni_pid_of "${pg_nodes[$primary]}")
  ours "$pid" || { fail "${pg_nodes[$primary]}'s Patroni (PID '$pid') is not running"; return 1; }
  victims+=("$pid")
  while read -r pid; do [ -n "$pid" ] && victims+=("$pid"); done < <(postgres_pids "${pg_nodes[$primary]}")
  [ ${#victims[@]} -gt 1 ] || { fail "${pg_nodes[$primary]}'s postgres is not running"; return 1; }
  local shmid; shmid=$(postgres_shmid "${pg_nodes[$primary]}"); [ -n "$shmid" ] && shmids+=("$shmid")
  kill_pids "${victims[@]}"
  local t_kill=$EPOCHREALTIME
  wait_gone "${victims[@]}" || { fail "the primary's processes outlived kill -9"; return 1; }
  say "kill -9 ${pg_nodes[$primary]}: Patroni and ${#victims[@]} processes in all (PIDs ${victims[*]})"

  local new_primary="" fdeadline=$((SECONDS + failover_timeout))
  while [ $SECONDS -lt $fdeadline ]; do
    new_primary=$(nodes_answering /primary "${others[@]}")
    [ -n "$new_primary" ] && [ "$(wc -w <<< "$new_primary")" = 1 ] && break
    sleep 0.5
  done
  if [ -z "$new_primary" ] || [ "$(wc -w <<< "$new_primary")" != 1 ]; then
    fail "no replica became primary within ${failover_timeout} s"; return 1
  fi
  local t_failover; t_failover=$(since "$t_kill")
  say "${pg_nodes[$new_primary]} is primary ${t_failover} s after the kill"
  local got
  got=$(psql_at "${pg_ports[$new_primary]}" -c "SELECT note FROM patroni_check WHERE id = 1") || got=""
  [ "$got" = "$note" ] || { fail "row 1 not readable on the new primary (got '$got')"; return 1; }
  [ "$(psql_at "${pg_ports[$new_primary]}" -c "SELECT pg_is_in_recovery()")" = f ] \
    || { fail "${pg_nodes[$new_primary]} answers /primary but is still in recovery"; return 1; }
  say "row 1 read on ${pg_nodes[$new_primary]}, which accepts writes"
  patronictl_list "$new_primary"

  # 4. kill -9 the member that leads the cluster and that the primary's
  # Patroni talks to (leadership is moved there first if need be): Raft
  # elects a new leader, which must honour the leases, and Patroni must
  # switch members and rebuild its watch.
  local target leader
  target=$(patroni_member_index "$(patroni_pid_of "${pg_nodes[$new_primary]}")")
  leader=$(leader_index) || { fail "could not find the $kind leader"; return 1; }
  [ -n "$target" ] || target=$leader
  if [ "$target" != "$leader" ]; then
    move_leader "$leader" "$target" || { fail "could not move the $kind leadership from ${members[$leader]} to ${members[$target]}"; return 1; }
    say "moved the $kind leadership from ${members[$leader]} to ${members[$target]}, which ${pg_nodes[$new_primary]}'s Patroni talks to"
  fi
  local member_pid; member_pid=$(cat "$run_dir/${members[$target]}/pid")
  kill_ours "$member_pid"
  wait_gone "$member_pid" || { fail "${members[$target]} outlived kill -9"; return 1; }
  say "kill -9 ${members[$target]} (the $kind leader, client ${client_ports[$target]}, used by ${pg_nodes[$new_primary]}); holding for ${hold_seconds} s"
  local rest=() t_hold=$EPOCHREALTIME
  for i in "${others[@]}"; do [ "$i" != "$new_primary" ] && rest+=("$i"); done
  local samples=0 hold_end=$((SECONDS + hold_seconds))
  while [ $SECONDS -lt $hold_end ]; do
    local code=""
    # A sample is one answer from the REST API; a slow answer is asked again.
    for _ in 1 2 3; do
      code=$(rest_status "${rest_ports[$new_primary]}" /primary)
      [ "$code" != 000 ] && break
    done
    [ "$code" = 200 ] || { fail "${pg_nodes[$new_primary]} lost the primary role $(since "$t_hold") s after ${members[$target]} was killed (/primary: $code)"; return 1; }
    [ "$(rest_status "${rest_ports[${rest[0]}]}" /primary)" != 200 ] \
      || { fail "two primaries $(since "$t_hold") s after ${members[$target]} was killed"; return 1; }
    samples=$((samples + 1))
    sleep 1
  done
  psql_at "${pg_ports[$new_primary]}" -c "INSERT INTO patroni_check VALUES (2, 'after ${members[$target]} was killed')" \
    || { fail "could not write through ${pg_nodes[$new_primary]} after the hold"; return 1; }
  say "${pg_nodes[$new_primary]} held the primary role for $(since "$t_hold") s on two members ($samples samples), and took a write"
  patronictl_list "$new_primary"

  local summary
  summary="primary elected in ${t_elect} s (replicas streaming at ${t_replicas} s), failover ${t_failover} s after kill -9 of ${pg_nodes[$primary]}, primary held ${hold_seconds} s with the $kind leader killed; $(elapsed) s in all"
  say "PASS ($current_kind): $summary"
  results+=("PASS $current_kind: $summary")
}

install_packages
if [[ " ${kinds[*]} " == *" swift-etcd "* ]]; then build_swift_etcd; fi
[ -x "$pg_bin_dir/postgres" ] || { echo "patroni-check: $pg_bin_dir/postgres missing" >&2; exit 1; }

results=()
current_kind=""
status=0
for kind in "${kinds[@]}"; do
  check_one "$kind" || status=1
  cleanup_run
done
echo
echo "==== Patroni check ===="
for r in "${results[@]}"; do echo "$r"; done
exit "$status"
