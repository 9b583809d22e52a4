#!/usr/bin/env bash
# Microbenchmark of the Raft core alone: a three-node in-memory cluster
# (no disk, no sockets) commits N 256-byte entries. Builds raft-sim in
# release (small: Raft and its test support only) and prints the result.
#   scripts/bench-raft.sh [ENTRIES]   (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
entries="${1:-200000}"
swift build -c release --product raft-sim >/dev/null
bin="$(swift build -c release --show-bin-path)/raft-sim"
for run in 1 2 3; do
  "$bin" --bench "$entries"
done
