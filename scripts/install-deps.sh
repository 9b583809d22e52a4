#!/usr/bin/env bash
# Installs the Debian packages SwiftEtcd builds and tests with: etcd 3.4 and
# etcdctl (the reference oracle), the C libraries gRPC's transport links,
# LMDB for the storage backend, libcrypt (bcrypt hashes of users restored
# from etcd snapshots), protoc for regenerating code, and openssl
# (the TLS tests make their certificates with it), curl (the gateway tests).
set -euo pipefail
pkgs=(etcd-server etcd-client libnghttp2-dev zlib1g-dev liblmdb-dev libcrypt-dev protobuf-compiler openssl curl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian's etcd-server package starts a system etcd on 2379/2380; our
# cluster and tests need those ports, and the oracle runs its own etcd.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
  systemctl stop etcd || true
fi
