#!/usr/bin/env bash
# Installs what brkit needs on a fresh Debian machine (idempotent; quick when all is present).
# - librocksdb-dev, libsnappy-dev: the rocksdb crate links Debian's RocksDB 7.8 (.cargo/config.toml)
# - rocksdb-tools: sst_dump, which the tests use to cross-check our SST reader
# - fuse3: fusermount3 for brfs
# - python3 + python3-venv, npm: scripts/test-servers.sh installs the object-store servers
#   (moto, gcp-storage-emulator from PyPI into a venv; Azurite from npm)
set -euo pipefail
pkgs=(librocksdb-dev libsnappy-dev liblz4-dev libzstd-dev rocksdb-tools fuse3 pkg-config)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
command -v python3 >/dev/null || missing+=(python3)
# Debian's python3 makes venvs only with python3-venv (ensurepip).
command -v python3 >/dev/null && ! python3 -c 'import ensurepip' 2>/dev/null && missing+=(python3-venv)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust (rustup) first" >&2; exit 2; }
