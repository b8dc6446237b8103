#!/usr/bin/env bash
# PITR log replay benchmark (issue 5, "Benchmarks": log replay speed, goal >= 100 MB/s of log
# data). Prints numbers; asserts nothing about time.
#
# Two modes:
#  - default: builds the `pitr` integration test (release unless PROFILE=dev) and runs its
#    ignored `bench_log_replay_speed`: a 3-store source cluster, a snapshot, then a bulk load
#    into a database created after it; the test log producer writes the log archive
#    (tests/support/log_producer.rs) and `run_pitr` replays it into a fresh cluster (the
#    stores read the log objects themselves through ImportSST.Apply). The whole load is log
#    data (the database is born after the snapshot), so the replay time is the figure.
#      BENCH_TABLES=N BENCH_ROWS=M   bulk size (default 2 sysbench tables + the 4 special
#                                    tables, 60000 rows each: ~100 MB of log events)
#      BENCH_DIR=DIR                 scratch parent dir (default: the system temp dir)
#  - existing archives: LOG_URL=... SNAP_URL=... PD=local://DIR (or host:port) runs
#    `brtool restore point --json` and reports log_bytes / replay_seconds.
#
# "MB of log data" = the plaintext event streams replayed (DataFileInfo.length, LOG-FILE-5);
# the stored (zstd) size is printed next to it.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PROFILE="${PROFILE:-release}"
log() { printf '[bench-pitr %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

if [[ -n "${LOG_URL:-}" ]]; then
    : "${SNAP_URL:?SNAP_URL is required with LOG_URL}" "${PD:?PD is required with LOG_URL}"
    BIN="$TARGET/$PROFILE/brtool"
    [[ "$PROFILE" == dev ]] && BIN="$TARGET/debug/brtool"
    if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
        log "building brtool ($PROFILE)"
        (cd "$ROOT" && cargo build --quiet --profile "$PROFILE" --bin brtool)
    fi
    out="$("$BIN" restore point --pd "$PD" -s "$LOG_URL" --full-backup-storage "$SNAP_URL" \
        ${RESTORED_TS:+--restored-ts "$RESTORED_TS"} --json)"
    echo "$out"
    jq -r '"log_files=\(.log_files) log_mb=\(.log_bytes/1e6) stored_mb=\(.log_stored_bytes/1e6) replay_s=\(.replay_seconds) mb_per_s=\(.log_bytes/1e6/(.replay_seconds+1e-9)) goal_mb_per_s=100"' <<<"$out"
    exit 0
fi

PROFILE_ARGS=(--release)
[[ "$PROFILE" == dev ]] && PROFILE_ARGS=()
log "running the replay benchmark (profile $PROFILE; tables ${BENCH_TABLES:-2}, rows ${BENCH_ROWS:-60000})"
cd "$ROOT"
cargo test "${PROFILE_ARGS[@]}" --test pitr bench_log_replay_speed -- --ignored --nocapture \
    2>&1 | grep -E '^\[bench\]|^BENCH|FAILED|panicked|error' || true
