#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, sweeps the Raft
# simulator over 1000 seeds, then runs the unit, integration and oracle tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
echo "== building (debug; the first build takes ~5 minutes on 2 cores)"
swift build
if [ -d Sources/raft-sim ] && grep -q '"raft-sim"' Package.swift; then
  echo "== Raft simulator: 1000 seeds"
  swift run raft-sim --seeds 1000
fi
echo "== unit, integration and oracle tests"
# Serially: the integration tests start real servers and etcd, and on a
# 2-core machine running them side by side only adds timing noise.
swift test --no-parallel
