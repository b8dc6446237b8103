#!/usr/bin/env bash
# The test command (README): formatting, lints, then every test (unit, integration, corpus
# replays of the fuzz targets, spec example checks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
cargo test --doc
