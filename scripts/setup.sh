#!/usr/bin/env bash
# Installs what brkit needs on a fresh Debian machine (idempotent; quick when all is present).
# - librocksdb-dev, libsnappy-dev: the rocksdb crate links Debian's RocksDB 7.8 (.cargo/config.toml)
# - rocksdb-tools: sst_dump, which the tests use to cross-check our SST reader
# - fuse3: fusermount3 for brfs
# - python3 + python3-venv, npm: scripts/test-servers.sh installs the object-store servers
#   (moto, gcp-storage-emulator from PyPI into a venv; Azurite from npm)
# - duckdb (PyPI): tests/brfs_mount.rs reads a mounted rows.csv with DuckDB's read_csv
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
if ! python3 -c "import duckdb" >/dev/null 2>&1; then
  echo "setup: installing duckdb (pip)" >&2
  python3 -m pip install -q duckdb >/dev/null 2>&1 \
    || python3 -m pip install -q --break-system-packages duckdb >/dev/null 2>&1 \
    || echo "setup: could not install duckdb; the DuckDB check of tests/brfs_mount.rs will be skipped" >&2
fi
command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust (rustup) first" >&2; exit 2; }
