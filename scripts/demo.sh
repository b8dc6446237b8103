#!/usr/bin/env bash
# The demo (README quick start): installs what is missing, builds brtool and runs `brtool demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo run --quiet --bin brtool -- demo "$@"
