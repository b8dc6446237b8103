#!/usr/bin/env bash
# Log backup benchmark (issue 5, "Benchmarks"): on a 3-store cluster server, measures the
# workload's write throughput (`brtool workload run`: one client committing 16-row
# transactions back to back) without and with a running log backup task, in interleaved rounds
# (the 2 cores are shared, so rounds alternate and medians are compared), then the global
# checkpoint lag under load (`log status --json` sampled every SAMPLE_S seconds during a
# loaded round; p50/p99 of now - checkpoint). Prints the numbers and the goals
# (overhead <= 3 %, lag p99 <= 10 s); asserts nothing about timing.
#
# Usage: scripts/bench-log-backup.sh [SCRATCH_DIR]
#   TABLES=N ROWS=M    workload size loaded first (default 2 tables x 20000 rows)
#   ROUNDS=N           rounds per mode (default 3), DURATION=S seconds per round (default 20)
#   FLUSH_INTERVAL=I   --flush-interval of the task (default 5s; BR's default is 3-5 min, a
#                      10 s interval alone makes the lag swing between 0 and ~10 s)
#   LAG_DURATION=S     length of the lag round (default 40), SAMPLE_S (default 0.5)
#   PROFILE=release|debug|dev-opt  which binary (default release); dev-opt builds the dev
#                      profile with brkit itself at opt-level 2 into the debug dir (no release
#                      build of every dependency needed); SKIP_BUILD=1 uses the binary as is
#   KEEP=1             keep the scratch dir; TIMEOUT=S bound for server start/stop (120)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PROFILE="${PROFILE:-release}"
BIN_DIR="$PROFILE"
[[ "$PROFILE" == dev-opt ]] && BIN_DIR=debug
BIN="$TARGET/$BIN_DIR/brtool"
TABLES="${TABLES:-2}"
ROWS="${ROWS:-20000}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-20}"
FLUSH_INTERVAL="${FLUSH_INTERVAL:-5s}"
LAG_DURATION="${LAG_DURATION:-40}"
SAMPLE_S="${SAMPLE_S:-0.5}"
TIMEOUT="${TIMEOUT:-120}"
DB=sbtest

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building brtool ($PROFILE, target dir $TARGET)"
    if [[ "$PROFILE" == release ]]; then
        (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release --quiet --bin brtool)
    elif [[ "$PROFILE" == dev-opt ]]; then
        (cd "$ROOT" && CARGO_PROFILE_DEV_OPT_LEVEL=2 CARGO_PROFILE_DEV_DEBUG=0 \
            CARGO_TARGET_DIR="$TARGET" cargo build --quiet --bin brtool)
    else
        (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --quiet --bin brtool)
    fi
fi
[[ -x "$BIN" ]] || die "no binary at $BIN"
for tool in jq awk sort; do command -v "$tool" >/dev/null || die "$tool is required"; done

WORK="${1:-${BENCH_DIR:-}}"
if [[ -z "$WORK" ]]; then
    WORK="$(mktemp -d /tmp/brkit-logbench.XXXXXX)"
else
    mkdir -p "$WORK"
    [[ -z "$(ls -A "$WORK")" ]] || die "scratch dir $WORK is not empty"
fi
SRC="$WORK/src"
PIDS=()
cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [[ "${KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$SRC"
"$BIN" cluster start --dir "$SRC" --stores 3 >"$SRC.server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
deadline=$((SECONDS + TIMEOUT))
until [[ -s "$SRC/cluster.addr" ]]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SRC.server.log" >&2; die "server exited"; }
    ((SECONDS < deadline)) || die "server did not write cluster.addr in ${TIMEOUT}s"
    sleep 0.2
done
PD="local://$SRC"

log "scratch dir $WORK; loading $TABLES tables x $ROWS rows"
"$BIN" workload load --pd "$PD" --db "$DB" --tables "$TABLES" --rows "$ROWS"

# run_round: one workload round; prints commits per second.
run_round() {
    local out
    out="$("$BIN" workload run --pd "$PD" --db "$DB" --tables "$TABLES" --rows "$ROWS" \
        --duration "${DURATION}s")"
    awk -v d="$DURATION" '{ printf "%.1f", $1 / d; exit }' <<<"$out"
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# settle: waits (at most SETTLE_TIMEOUT s) until the server uses < 5 % of a CPU over 2 s
# (RocksDB's flushes and compactions after the load are not part of either mode).
CLK_TCK="$(getconf CLK_TCK)"
cpu_of() { awk -v t="$CLK_TCK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }
settle() {
    local prev cur deadline=$((SECONDS + ${SETTLE_TIMEOUT:-120}))
    prev="$(cpu_of "$SERVER_PID")"
    while ((SECONDS < deadline)); do
        sleep 2
        cur="$(cpu_of "$SERVER_PID")"
        awk -v a="$prev" -v b="$cur" 'BEGIN { exit !(b - a < 0.1) }' && return 0
        prev="$cur"
    done
    log "server still busy after ${SETTLE_TIMEOUT:-120}s; measuring anyway"
}

round_off() {
    settle
    local r
    r="$(run_round)"
    OFF+=("$r")
    log "round $1 without log backup: $r commits/s"
}
round_on() {
    settle
    "$BIN" log start --pd "$PD" --task-name "bench$1" -s "local://$WORK/archive$1" \
        --flush-interval "$FLUSH_INTERVAL" >/dev/null
    local r
    r="$(run_round)"
    ON+=("$r")
    log "round $1 with log backup:    $r commits/s"
    "$BIN" log stop --pd "$PD" --task-name "bench$1" >/dev/null
}

OFF=()
ON=()
# Alternate which mode goes first, so a drift of the machine's load favours neither.
for ((i = 1; i <= ROUNDS; i++)); do
    if ((i % 2)); then round_off "$i"; round_on "$i"; else round_on "$i"; round_off "$i"; fi
done
OFF_MED="$(printf '%s\n' "${OFF[@]}" | median)"
ON_MED="$(printf '%s\n' "${ON[@]}" | median)"
OVERHEAD="$(awk -v a="$OFF_MED" -v b="$ON_MED" 'BEGIN { printf "%.2f", (a - b) / a * 100 }')"

log "lag round: ${LAG_DURATION}s of load with a task, sampling every ${SAMPLE_S}s"
"$BIN" log start --pd "$PD" --task-name lag -s "local://$WORK/archive-lag" \
    --flush-interval "$FLUSH_INTERVAL" >/dev/null
"$BIN" workload run --pd "$PD" --db "$DB" --tables "$TABLES" --rows "$ROWS" \
    --duration "${LAG_DURATION}s" >/dev/null &
LOAD_PID=$!
PIDS+=("$LOAD_PID")
: >"$WORK/lag.txt"
# Skip the first flush interval: before it the checkpoint is the start ts by definition.
sleep "${FLUSH_INTERVAL%s}"
while kill -0 "$LOAD_PID" 2>/dev/null; do
    "$BIN" log status --pd "$PD" --task-name lag --json | jq -r '.checkpoint_lag_ms' >>"$WORK/lag.txt"
    sleep "$SAMPLE_S"
done
wait "$LOAD_PID" || die "workload failed during the lag round"
ARCHIVE_BYTES="$(du -sb "$WORK/archive-lag" | awk '{ print $1 }')"
"$BIN" log status --pd "$PD" --task-name lag
"$BIN" log stop --pd "$PD" --task-name lag >/dev/null
pct() { sort -g "$WORK/lag.txt" | awk -v p="$1" '{ a[NR] = $1 } END { i = int((NR - 1) * p / 100) + 1; printf "%.2f", a[i] / 1000 }'; }
SAMPLES="$(wc -l <"$WORK/lag.txt")"
P50="$(pct 50)"
P99="$(pct 99)"
MAX="$(pct 100)"

"$BIN" cluster stop --pd "$PD" >/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true

echo
echo "log backup benchmark ($PROFILE binary, flush interval $FLUSH_INTERVAL, $ROUNDS x ${DURATION}s rounds)"
printf '  throughput without log backup: %s commits/s (rounds: %s)\n' "$OFF_MED" "${OFF[*]}"
printf '  throughput with log backup:    %s commits/s (rounds: %s)\n' "$ON_MED" "${ON[*]}"
printf '  overhead:                      %s %% (goal <= 3 %%; BR ~5 %%)\n' "$OVERHEAD"
printf '  checkpoint lag under load:     p50 %s s, p99 %s s, max %s s over %s samples (goal p99 <= 10 s; BR ~5 min)\n' \
    "$P50" "$P99" "$MAX" "$SAMPLES"
printf '  archive of the lag round:      %.1f MB\n' "$(awk -v b="$ARCHIVE_BYTES" 'BEGIN { print b / 1e6 }')"
