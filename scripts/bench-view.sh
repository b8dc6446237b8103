#!/usr/bin/env bash
# Archive-view benchmark (issue 6, format/view.md VIEW-9, VIEW-15, VIEW-16): makes a snapshot
# archive of the workload with the embedded cluster (in-process, `--pd local://DIR`), then
# reads one table's rows.csv through the view exactly as `brfs mount` serves it (the same code
# path, `brtool export` = VIEW-11), on a warm page cache:
#   sequential read   MB/s of the whole rows.csv (goal >= 150 MB/s), read before any size
#                     pass, so the first read streams at once
#   first byte        time from the first read(0) to its return (goal <= 200 ms for a
#                     snapshot view); the archive open time is printed separately
#   size pass         the exact size (what `stat` needs): one full decoding pass, segments in
#                     parallel
#   peak RSS          of each process (goal: bounded, independent of the table size)
# One run each; no assertion on time (a benchmark, not a test).
#
# Usage: scripts/bench-view.sh [SCRATCH_DIR]
#   ROWS=M            rows per workload table (default 5600000: sbtest1's rows.csv is about
#                     1.05 GB; the four special tables get M rows too, so the load is large —
#                     use a smaller M on a busy machine and say so)
#   TABLE=name        the table to read (default sbtest1)
#   FORMAT=csv|jsonl  the file to read (default csv)
#   CACHE_MB=N        the view's cache budget (default 64)
#   ARCHIVE=DIR       read an existing local archive instead of making one
#   SKIP_BUILD=1      use the existing release binary; KEEP=1 keeps the scratch dir
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/brtool"
ROWS="${ROWS:-5600000}"
TABLE="${TABLE:-sbtest1}"
FORMAT="${FORMAT:-csv}"
CACHE_MB="${CACHE_MB:-64}"

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building brtool (release, target dir $TARGET)"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release --quiet --bin brtool)
fi
[[ -x "$BIN" ]] || die "no binary at $BIN"

WORK="${1:-${BENCH_DIR:-}}"
if [[ -z "$WORK" ]]; then
    WORK="$(mktemp -d /tmp/brkit-bench-view.XXXXXX)"
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
    log "loading 1 sysbench table + 4 special tables x $ROWS rows into $WORK/cluster"
    "$BIN" workload load --pd "local://$WORK/cluster" --db sbtest --tables 1 --rows "$ROWS" >&2
    log "backup full -> $ARCHIVE"
    "$BIN" backup full --pd "local://$WORK/cluster" -s "local://$ARCHIVE" >&2
    rm -rf "$WORK/cluster"
fi
mkdir -p "$WORK/scratch"
find "$ARCHIVE" -type f -exec cat {} + >/dev/null # warm the page cache

VIEW=(-s "local://$ARCHIVE" --db sbtest --table "$TABLE" --format "$FORMAT"
      --cache-dir "$WORK/scratch" --cache-mb "$CACHE_MB")

log "sequential read of $TABLE rows.$FORMAT (no size pass first)"
BRKIT_REPORT_PEAK_RSS=1 "$BIN" export "${VIEW[@]}" -o /dev/null 2>"$WORK/read.err" ||
    { cat "$WORK/read.err" >&2; die "export failed"; }
READ_LINE="$(grep 'exported' "$WORK/read.err")"
READ_RSS="$(sed -n 's/.*peak RSS \([0-9]*\) KiB.*/\1/p' "$WORK/read.err")"

log "size pass of $TABLE rows.$FORMAT"
BRKIT_REPORT_PEAK_RSS=1 "$BIN" export "${VIEW[@]}" --size >"$WORK/size.out" 2>"$WORK/size.err" ||
    { cat "$WORK/size.err" >&2; die "export --size failed"; }
SIZE_LINE="$(grep 'size pass' "$WORK/size.err")"
SIZE_RSS="$(sed -n 's/.*peak RSS \([0-9]*\) KiB.*/\1/p' "$WORK/size.err")"

BYTES="$(sed -n 's/.*: \([0-9]*\) bytes in.*/\1/p' <<<"$READ_LINE")"
SECS="$(sed -n 's/.* bytes in \([0-9.]*\) s.*/\1/p' <<<"$READ_LINE")"
MBPS="$(sed -n 's/.*(\([0-9.]*\) MB\/s).*/\1/p' <<<"$READ_LINE")"
OPEN_MS="$(sed -n 's/.*opened in \([0-9]*\) ms.*/\1/p' <<<"$READ_LINE")"
FIRST_MS="$(sed -n 's/.*first byte after \([0-9]*\) ms.*/\1/p' <<<"$READ_LINE")"
SIZE_S="$(sed -n 's/.*size pass \([0-9.]*\) s.*/\1/p' <<<"$SIZE_LINE")"
[[ "$(cat "$WORK/size.out")" == "$BYTES" ]] || die "size $(cat "$WORK/size.out") != bytes read $BYTES"

if [[ -n "${ARCHIVE_GIVEN:-}" ]]; then SRC="archive $ARCHIVE"; else SRC="$ROWS rows per table"; fi
echo "archive view benchmark ($SRC, $TABLE rows.$FORMAT, cache $CACHE_MB MiB, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
printf '  %-22s %s bytes (%.2f GB)\n' "file size" "$BYTES" "$(awk -v b="$BYTES" 'BEGIN{print b/1e9}')"
printf '  %-22s %s s, %s MB/s   (goal >= 150 MB/s)\n' "sequential read" "$SECS" "$MBPS"
printf '  %-22s %s ms   (goal <= 200 ms; archive open %s ms before it)\n' "first byte" "$FIRST_MS" "$OPEN_MS"
printf '  %-22s %s s\n' "size pass (stat)" "$SIZE_S"
printf '  %-22s %s MiB read, %s MiB size pass\n' "peak RSS" "$((READ_RSS / 1024))" "$((SIZE_RSS / 1024))"
