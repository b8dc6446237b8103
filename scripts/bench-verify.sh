#!/usr/bin/env bash
# Verify benchmark (issue 4, VERIFY-BENCH-1): makes a snapshot archive of the workload with
# the embedded cluster (in-process, `--pd local://DIR`), then times, on a warm page cache and
# over exactly the archive's data files:
#   sha256sum           the peer: GNU coreutils, one process, one core
#   brtool verify --level file   SHA-256 of every data file (both cores)
#   brtool verify --level kv     + decrypt/decompress, MVCC-resolve, recompute checksums,
#                                  decode every row
# and prints MB/s and the ratio of each level's throughput to sha256sum's (goals: file >= 2.5,
# kv >= 1.0). One run each; no assertion on time (a benchmark, not a test).
#
# Usage: scripts/bench-verify.sh [SCRATCH_DIR]
#   TABLES=N ROWS=M   workload size (default 2 sysbench tables + 4 special tables x 600000
#                     rows, about 1 GB of SST data before compression)
#   COMPRESSION=zstd  --compression of the backup (zstd, lz4, snappy, none)
#   ARCHIVE=DIR       verify an existing local archive instead of making one
#   SKIP_BUILD=1      use the existing release binary; KEEP=1 keeps the scratch dir
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/brtool"
TABLES="${TABLES:-2}"
ROWS="${ROWS:-600000}"
COMPRESSION="${COMPRESSION:-zstd}"

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
secs_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building brtool (release, target dir $TARGET)"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release --quiet --bin brtool)
fi
[[ -x "$BIN" ]] || die "no binary at $BIN"
command -v sha256sum >/dev/null || die "sha256sum is required"

WORK="${1:-${BENCH_DIR:-}}"
if [[ -z "$WORK" ]]; then
    WORK="$(mktemp -d /tmp/brkit-bench-verify.XXXXXX)"
else
    mkdir -p "$WORK"
fi
cleanup() {
    local rc=$?
    if [[ "${KEEP:-0}" == 1 || -n "${ARCHIVE_GIVEN:-}" ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -n "${ARCHIVE:-}" ]]; then
    ARCHIVE_GIVEN=1
else
    ARCHIVE="$WORK/archive"
    log "loading $TABLES sysbench tables + 4 special tables x $ROWS rows into $WORK/cluster"
    "$BIN" workload load --pd "local://$WORK/cluster" --db sbtest --tables "$TABLES" --rows "$ROWS" >&2
    log "backup full --compression $COMPRESSION -> $ARCHIVE"
    "$BIN" backup full --pd "local://$WORK/cluster" -s "local://$ARCHIVE" --compression "$COMPRESSION" >&2
    rm -rf "$WORK/cluster"
fi

mapfile -d '' FILES < <(find "$ARCHIVE" -type f -name '*.sst' -print0 | sort -z)
((${#FILES[@]} > 0)) || die "no .sst files under $ARCHIVE"
BYTES="$(du -cb "${FILES[@]}" | tail -n 1 | cut -f1)"
log "${#FILES[@]} data files, $BYTES bytes; warming the page cache"
cat "${FILES[@]}" >/dev/null

t0="$(now)"
printf '%s\0' "${FILES[@]}" | xargs -0 sha256sum >/dev/null
SHA_S="$(secs_since "$t0")"

run_verify() {
    local level="$1" t0 rc
    t0="$(now)"
    set +e
    BRKIT_REPORT_PEAK_RSS=1 "$BIN" verify -s "local://$ARCHIVE" --level "$level" --json \
        >"$WORK/verify-$level.jsonl" 2>"$WORK/verify-$level.err"
    rc=$?
    set -e
    VERIFY_S="$(secs_since "$t0")"
    ((rc == 0)) || { cat "$WORK/verify-$level.err" "$WORK/verify-$level.jsonl" >&2; die "verify --level $level exited $rc"; }
    VERIFY_RSS="$(sed -n 's/^brtool: peak RSS \(.*\) KiB$/\1/p' "$WORK/verify-$level.err")"
}
run_verify file
FILE_S="$VERIFY_S"; FILE_RSS="$VERIFY_RSS"
run_verify kv
KV_S="$VERIFY_S"; KV_RSS="$VERIFY_RSS"

mbps() { awk -v b="$BYTES" -v s="$1" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
ratio() { awk -v a="$SHA_S" -v b="$1" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "verify benchmark: ${#FILES[@]} data files, $(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB ($COMPRESSION), warm cache, $(nproc) cores"
printf '  %-28s %8s s %9s MB/s  %s\n' "sha256sum (peer)" "$SHA_S" "$(mbps "$SHA_S")" ""
printf '  %-28s %8s s %9s MB/s  ratio %s (goal >= 2.5), peak RSS %s KiB\n' "brtool verify --level file" "$FILE_S" "$(mbps "$FILE_S")" "$(ratio "$FILE_S")" "$FILE_RSS"
printf '  %-28s %8s s %9s MB/s  ratio %s (goal >= 1.0), peak RSS %s KiB\n' "brtool verify --level kv" "$KV_S" "$(mbps "$KV_S")" "$(ratio "$KV_S")" "$KV_RSS"
