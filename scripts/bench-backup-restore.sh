#!/usr/bin/env bash
# Backup/restore benchmark (issue 3, "Benchmarks"): loads >= 2 GB of logical workload data into
# a 3-store embedded cluster, times `brtool backup full` (zstd, default level) against the
# baseline `tar -cf - <store dirs> | zstd -3 -T0` on the same data, restores into a fresh
# cluster, checks one table's checksum on both sides, and prints throughput and ratios.
#
# Usage: scripts/bench-backup-restore.sh [SCRATCH_DIR]
#   SCRATCH_DIR      default: $BENCH_DIR, else a new mktemp dir under /tmp
#   TABLES=N ROWS=M  workload size (default 8 sysbench tables + the 4 special tables,
#                    ROWS rows each; the default gives ~2.2 GB logical,
#                    about 276 B per row with its index entries)
#   KEEP=1           keep the scratch dir (clusters, archive, tarball)
#   CONCURRENCY=N    --concurrency for backup and restore (default: brtool's default)
#   SKIP_BUILD=1     use the existing release binary
#   TIMEOUT=S        upper bound for server start/stop waits (default 120 s)
#
# Baseline choice: the source server is stopped (RocksDB closed cleanly) before tar|zstd runs,
# so tar reads a quiescent copy of exactly the data the backup read; the tarball is written to
# a file in the scratch dir, as the backup writes its archive there too. The backup itself runs
# while the server is up (as BR does), after the load finished and the server went idle
# (RocksDB compacts for a while after a bulk load; that is not backup work).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/brtool"
TABLES="${TABLES:-8}"
ROWS="${ROWS:-700000}"
TIMEOUT="${TIMEOUT:-120}"
CONC_ARGS=()
if [[ -n "${CONCURRENCY:-}" ]]; then CONC_ARGS=(--concurrency "$CONCURRENCY"); fi
GOAL_MBPS_PER_STORE=150
STORES=3
CHECK_TABLE="${CHECK_TABLE:-sbtest1}"
DB=sbtest

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
CLK_TCK="$(getconf CLK_TCK)"
# CPU seconds (user + sys) a running process has used so far.
cpu_of() { awk -v t="$CLK_TCK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }
# run_timed OUT CMD...: runs CMD, stdout to OUT, its own + waited children's CPU s to $RUN_CPU.
run_timed() {
    local out="$1"; shift
    /usr/bin/time -f "%U %S" -o "$WORK/time.txt" "$@" >"$out"
    RUN_CPU="$(awk '{ printf "%.2f", $1 + $2 }' "$WORK/time.txt")"
}
secs_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building brtool (release, target dir $TARGET)"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release --quiet --bin brtool)
fi
[[ -x "$BIN" ]] || die "no binary at $BIN"
for tool in tar zstd jq awk /usr/bin/time; do
    command -v "$tool" >/dev/null || die "$tool is required"
done

WORK="${1:-${BENCH_DIR:-}}"
if [[ -z "$WORK" ]]; then
    WORK="$(mktemp -d /tmp/brkit-bench.XXXXXX)"
else
    mkdir -p "$WORK"
    [[ -z "$(ls -A "$WORK")" ]] || die "scratch dir $WORK is not empty"
fi
SRC="$WORK/src"
DST="$WORK/dst"
ARCHIVE="$WORK/archive"
TARBALL="$WORK/stores.tar.zst"
PIDS=()

cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [[ "${KEEP:-0}" == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server DIR: starts a 3-store server in DIR and waits (bounded) for DIR/cluster.addr;
# sets SERVER_PID.
start_server() {
    local dir="$1"
    mkdir -p "$dir"
    "$BIN" cluster start --dir "$dir" --stores "$STORES" >"$dir.server.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    local deadline=$((SECONDS + TIMEOUT))
    until [[ -s "$dir/cluster.addr" ]]; do
        kill -0 "$pid" 2>/dev/null || { cat "$dir.server.log" >&2; die "server in $dir exited"; }
        ((SECONDS < deadline)) || die "server in $dir did not write cluster.addr in ${TIMEOUT}s"
        sleep 0.2
    done
    SERVER_PID="$pid"
}

# stop_server DIR PID: asks the server to stop and waits (bounded) for it to exit.
stop_server() {
    local dir="$1" pid="$2"
    "$BIN" cluster stop --pd "local://$dir" >/dev/null
    local deadline=$((SECONDS + TIMEOUT))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || { kill "$pid"; die "server in $dir did not stop in ${TIMEOUT}s"; }
        sleep 0.2
    done
    wait "$pid" 2>/dev/null || true
}

# settle PID: waits (at most SETTLE_TIMEOUT s) until the server uses < 5 % of a CPU over 2 s,
# i.e. RocksDB's background flushes and compactions after the load are done.
settle() {
    local pid="$1" prev cur deadline=$((SECONDS + ${SETTLE_TIMEOUT:-300}))
    prev="$(cpu_of "$pid")"
    while ((SECONDS < deadline)); do
        sleep 2
        cur="$(cpu_of "$pid")"
        if awk -v a="$prev" -v b="$cur" 'BEGIN { exit !(b - a < 0.1) }'; then
            return 0
        fi
        prev="$cur"
    done
    log "server $pid still busy after ${SETTLE_TIMEOUT:-300}s; measuring anyway"
}

table_checksum() {
    "$BIN" table checksum --pd "local://$1" --db "$DB" --table "$2"
}

log "scratch dir $WORK; workload: $TABLES sysbench tables + 4 special tables, $ROWS rows each"

# 1. source cluster + load
start_server "$SRC"
SRC_PID="$SERVER_PID"
log "loading"
LOAD_OUT="$("$BIN" workload load --pd "local://$SRC" --db "$DB" --tables "$TABLES" --rows "$ROWS")"
echo "$LOAD_OUT"

# 2. backup (server up, as BR runs), once the load's compactions are over
log "waiting for the source cluster to go idle"
t0="$(now)"
settle "$SRC_PID"
log "idle after $(secs_since "$t0")s"
log "backup full -> $ARCHIVE"
t0="$(now)"
c0="$(cpu_of "$SRC_PID")"
run_timed "$WORK/backup.out" "$BIN" backup full --pd "local://$SRC" -s "local://$ARCHIVE" \
    --compression zstd "${CONC_ARGS[@]}" --json
BACKUP_WALL="$(secs_since "$t0")"
BACKUP_CPU="$(awk -v a="$c0" -v b="$(cpu_of "$SRC_PID")" -v c="$RUN_CPU" 'BEGIN { printf "%.2f", b - a + c }')"
BACKUP_JSON="$(tail -n 1 "$WORK/backup.out")"
echo "$BACKUP_JSON"
SRC_SUM="$(table_checksum "$SRC" "$CHECK_TABLE")"
SRC_DUMP="$("$BIN" table dump --pd "local://$SRC" --db "$DB" --table all_types | sha256sum | cut -d' ' -f1)"

# 3. baseline on the stopped source stores
stop_server "$SRC" "$SRC_PID"
STORE_DIRS=()
for d in "$SRC"/store-*; do STORE_DIRS+=("$(basename "$d")"); done
log "baseline: tar -cf - ${STORE_DIRS[*]} | zstd -3 -T0 > $TARBALL"
t0="$(now)"
run_timed "$TARBALL" bash -c 'tar -C "$1" -cf - "${@:2}" | zstd -q -3 -T0' _ "$SRC" "${STORE_DIRS[@]}"
TAR_WALL="$(secs_since "$t0")"
TAR_CPU="$RUN_CPU"
STORE_BYTES="$(du -sb "${STORE_DIRS[@]/#/$SRC/}" | awk '{ s += $1 } END { print s }')"
TAR_BYTES="$(stat -c %s "$TARBALL")"
rm -f "$TARBALL"

# 4. restore into a fresh cluster
start_server "$DST"
DST_PID="$SERVER_PID"
log "restore full <- $ARCHIVE"
t0="$(now)"
c0="$(cpu_of "$DST_PID")"
run_timed "$WORK/restore.out" "$BIN" restore full --pd "local://$DST" -s "local://$ARCHIVE" \
    "${CONC_ARGS[@]}" --json
RESTORE_WALL="$(secs_since "$t0")"
RESTORE_CPU="$(awk -v a="$c0" -v b="$(cpu_of "$DST_PID")" -v c="$RUN_CPU" 'BEGIN { printf "%.2f", b - a + c }')"
RESTORE_JSON="$(tail -n 1 "$WORK/restore.out")"
echo "$RESTORE_JSON"
DST_SUM="$(table_checksum "$DST" "$CHECK_TABLE")"
DST_DUMP="$("$BIN" table dump --pd "local://$DST" --db "$DB" --table all_types | sha256sum | cut -d' ' -f1)"
stop_server "$DST" "$DST_PID"

# 5. verification: the table checksum (crc64xor total_kvs total_bytes) of the restored table.
# Restore re-creates tables in the same order on a fresh cluster, so the table ids (and with
# them the crc64xor over raw keys) match; a different id would show up here as a mismatch.
log "checksum $DB.$CHECK_TABLE source:   $SRC_SUM"
log "checksum $DB.$CHECK_TABLE restored: $DST_SUM"
[[ "$SRC_SUM" == "$DST_SUM" ]] || die "table checksum of $DB.$CHECK_TABLE differs after restore"
[[ "$SRC_DUMP" == "$DST_DUMP" ]] || die "CSV dump of $DB.all_types differs after restore"

# 6. report
B_LOGICAL="$(jq -r .logical_bytes <<<"$BACKUP_JSON")"
B_SECS="$(jq -r .seconds <<<"$BACKUP_JSON")"
B_STORED="$(jq -r .stored_bytes <<<"$BACKUP_JSON")"
R_LOGICAL="$(jq -r .logical_bytes <<<"$RESTORE_JSON")"
R_SECS="$(jq -r .seconds <<<"$RESTORE_JSON")"
awk -v bl="$B_LOGICAL" -v bs="$B_SECS" -v bw="$BACKUP_WALL" -v bst="$B_STORED" \
    -v rl="$R_LOGICAL" -v rs="$R_SECS" -v rw="$RESTORE_WALL" \
    -v ts="$TAR_WALL" -v sb="$STORE_BYTES" -v tb="$TAR_BYTES" \
    -v bc="$BACKUP_CPU" -v rc="$RESTORE_CPU" -v tc="$TAR_CPU" -v n="$STORES" -v goal="$GOAL_MBPS_PER_STORE" -v cpus="$(nproc)" 'BEGIN {
    bm = bl / 1e6 / bs; rm = rl / 1e6 / rs
    printf "\n== brkit backup/restore benchmark (%d stores, %d CPUs) ==\n", n, cpus
    printf "%-34s %12s\n", "logical data (GB)", sprintf("%.3f", bl / 1e9)
    printf "%-34s %12s\n", "store dirs on disk (GB)", sprintf("%.3f", sb / 1e9)
    printf "%-34s %12s\n", "backup archive (GB, zstd)", sprintf("%.3f", bst / 1e9)
    printf "%-34s %12s\n", "tar|zstd -3 output (GB)", sprintf("%.3f", tb / 1e9)
    printf "%-34s %12s   (wall incl. process start: %.2f)\n", "backup s", sprintf("%.2f", bs), bw
    printf "%-34s %12s\n", "backup MB/s total", sprintf("%.1f", bm)
    printf "%-34s %12s   goal >= %d: %s\n", "backup MB/s per store", sprintf("%.1f", bm / n), goal, (bm / n >= goal ? "MET" : "not met")
    printf "%-34s %12s   (wall incl. process start: %.2f)\n", "restore s", sprintf("%.2f", rs), rw
    printf "%-34s %12s\n", "restore MB/s total", sprintf("%.1f", rm)
    printf "%-34s %12s   goal >= %d: %s\n", "restore MB/s per store", sprintf("%.1f", rm / n), goal, (rm / n >= goal ? "MET" : "not met")
    printf "%-34s %12s\n", "tar|zstd -3 -T0 s", sprintf("%.2f", ts)
    printf "%-34s %12s   goal <= 1.0: %s\n", "ratio backup s / tar|zstd s", sprintf("%.2f", bw / ts), (bw / ts <= 1.0 ? "MET" : "not met")
    printf "\nCPU seconds (user+sys; steadier than wall time when other work shares the CPUs):\n"
    printf "%-34s %12s   (%.1f MB per CPU s)\n", "backup CPU s (server + client)", bc, bl / 1e6 / bc
    printf "%-34s %12s   (%.1f MB per CPU s)\n", "restore CPU s (server + client)", rc, rl / 1e6 / rc
    printf "%-34s %12s\n", "tar|zstd -3 CPU s", tc
    printf "%-34s %12s\n", "ratio backup CPU / tar|zstd CPU", sprintf("%.2f", bc / tc)
}'
log "checksums match; done"
