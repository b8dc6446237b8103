#!/usr/bin/env bash
# The test command (README): formatting, lints, then every test (unit, integration, corpus
# replays of the fuzz targets, spec example checks). The object-store tests use the servers
# of scripts/test-servers.sh: when BRKIT_TEST_S3_URL is not set, this script starts them
# (and stops them at the end); if they cannot be installed or started, those tests print a
# loud SKIPPED message (BRKIT_REQUIRE_SERVERS=1, as .ci/run sets, makes that a failure).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${BRKIT_TEST_S3_URL:-}" ] && [ "${BRKIT_TEST_SERVERS:-1}" != 0 ]; then
  # Servers that were already running are left running; the ones started here are stopped.
  if ! bash scripts/test-servers.sh status >/dev/null; then
    trap 'bash scripts/test-servers.sh stop' EXIT
  fi
  if ! bash scripts/test-servers.sh start; then
    echo "test.sh: WARNING: object-store servers did not all start; their tests will skip" >&2
    [ -z "${BRKIT_REQUIRE_SERVERS:-}" ] || exit 1
  fi
  eval "$(bash scripts/test-servers.sh env 2>/dev/null)"
fi
cargo fmt --all --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
cargo test --doc
