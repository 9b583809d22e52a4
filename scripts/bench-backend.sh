#!/usr/bin/env bash
# LMDB vs SQLite on the MVCC backend's workload (Docs/architecture.md,
# "Why LMDB for the MVCC backend"): 17-byte revision keys, 300-byte values,
# 1,000 records per transaction without fsync per commit, ordered scan,
# random point reads, deleting the oldest half, writing as much again.
# A C program, so the figures are the engines', not our Swift wrapper's.
#   scripts/bench-backend.sh [RECORDS] [DIR]   (default 1000000, a temp dir under /tmp)
# DIR should be on the disk the data directory would use.
set -euo pipefail
cd "$(dirname "$0")/.."
records="${1:-1000000}"
for pkg in liblmdb-dev libsqlite3-dev; do
  if ! dpkg -s "$pkg" >/dev/null 2>&1; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$pkg" >/dev/null
  fi
done
work="$(mktemp -d "${2:-/tmp}/bench-backend.XXXXXX")"
trap 'rm -rf "$work"' EXIT
gcc -O2 -Wall -Wextra -o "$work/bench" scripts/bench-backend/bench.c -llmdb -lsqlite3
echo "LMDB $(dpkg-query -W -f '${Version}' liblmdb0), SQLite $(dpkg-query -W -f '${Version}' libsqlite3-0), $records records, $(nproc) cores"
for engine in lmdb sqlite lmdb-metasync sqlite-normal; do
  "$work/bench" "$engine" "$work" "$records" 2>/dev/null
  rm -f "$work/$engine.db"*
done
