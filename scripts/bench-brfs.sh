#!/usr/bin/env bash
# brfs benchmark (issue 6, format/brfs.md). Prints numbers, asserts nothing on time.
#  1. A metadata-heavy archive: 10,000 tables x 10 data files (the fixture of
#     tests/verify_memory.rs, kept with BRKIT_KEEP_FIXTURE): time of `brfs mount` until the
#     mount answers (goal <= 1 s), `ls -R` of the whole mount (goal <= 1 s), RSS of the brfs
#     process after it (goal <= 256 MiB).
#  2. A data-heavy archive: the workload loaded into the embedded cluster (BIG_ROWS rows per
#     table; sbtest1's rows.csv is about 200 bytes per row, so 5,500,000 rows give >= 1 GB) and
#     backed up: first-byte latency of rows.csv (open + stat + first read, goal <= 200 ms),
#     sequential read of the whole file with dd (goal >= 150 MB/s), RSS after it.
#
# Usage: scripts/bench-brfs.sh [SCRATCH_DIR]
#   BIG_ROWS=N        rows per workload table (default 5500000; 0 skips part 2)
#   BIG_ARCHIVE=DIR   use an existing local snapshot archive with sbtest.sbtest1 for part 2
#   SKIP_BUILD=1      use the existing binaries; KEEP=1 keeps the scratch dir
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BRFS="$TARGET/release/brfs"
BRTOOL="$TARGET/release/brtool"
BIG_ROWS="${BIG_ROWS:-5500000}"

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
secs_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

[[ -e /dev/fuse ]] || die "/dev/fuse is missing"
command -v fusermount3 >/dev/null || die "fusermount3 is missing (apt-get install fuse3)"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building brfs and brtool (release, target dir $TARGET)"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release --quiet --bin brfs --bin brtool)
fi
[[ -x "$BRFS" && -x "$BRTOOL" ]] || die "no binaries in $TARGET/release"

WORK="${1:-${BENCH_DIR:-}}"
if [[ -z "$WORK" ]]; then WORK="$(mktemp -d /tmp/brkit-bench-brfs.XXXXXX)"; else mkdir -p "$WORK"; fi
MNT="$WORK/mnt"
mkdir -p "$MNT"
cleanup() {
    local rc=$?
    if grep -qs " $MNT " /proc/mounts; then fusermount3 -u -z "$MNT" || true; fi
    if [[ "${KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Mounts "$@" at $MNT in the background mode; sets MOUNT_SECS and BRFS_PID.
mount_it() {
    local t0 err
    t0="$(now)"
    err="$("$BRFS" mount "$@" "$MNT" 2>&1 >/dev/null)" || die "brfs mount: $err"
    MOUNT_SECS="$(secs_since "$t0")"
    BRFS_PID="$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' <<<"$err" | head -1)"
    [[ -n "$BRFS_PID" ]] || die "no pid in: $err"
}
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
hwm_mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
umount_it() {
    "$BRFS" umount "$MNT"
    for _ in $(seq 100); do kill -0 "$BRFS_PID" 2>/dev/null || return 0; sleep 0.1; done
    die "brfs process $BRFS_PID still running after umount"
}

# ---- 1. 10,000 tables ----
META="$WORK/meta-10k"
log "generating the 10,000-table archive (tests/verify_memory.rs fixture) in $META"
(cd "$ROOT" && BRKIT_KEEP_FIXTURE="$META" CARGO_TARGET_DIR="$TARGET" \
    cargo test --quiet --test verify_memory -- --nocapture >/dev/null 2>&1) || die "fixture generation failed"
[[ -f "$META/backupmeta" ]] || die "no archive in $META"
sync
mount_it "local://$META"
RSS0="$(rss_mib "$BRFS_PID")"
DB="$(ls "$MNT" | grep -v -e '^README.txt$' -e '^backupmeta.json$' -e '^raw$' -e '^at$' | head -1)"
T0="$(now)"
TABLE_LINES="$(ls -R "$MNT/$DB" | wc -l)"
LS_DB_SECS="$(secs_since "$T0")"
T0="$(now)"
ENTRIES="$(ls -R "$MNT" | wc -l)"
LS_SECS="$(secs_since "$T0")"
TABLES="$(ls "$MNT/$DB" | wc -l)"
RSS1="$(rss_mib "$BRFS_PID")"; HWM1="$(hwm_mib "$BRFS_PID")"
ANON1="$(awk '/^RssAnon:/ { printf "%.1f", $2 / 1024 }' "/proc/$BRFS_PID/status")"
umount_it
printf '\n10,000-table archive (%s)\n' "$META"
printf '  mount ready      %8.3f s   (goal <= 1 s)\n' "$MOUNT_SECS"
printf '  RSS when ready   %8s MiB\n' "$RSS0"
printf '  ls -R %-10s %8.3f s   (%s tables, %s lines, cold; goal <= 1 s)\n' "$DB/" "$LS_DB_SECS" "$TABLES" "$TABLE_LINES"
printf '  ls -R (all)      %8.3f s   (%s lines, with raw/ of every object)\n' "$LS_SECS" "$ENTRIES"
printf '  RSS after ls -R  %8s MiB (anonymous %s MiB, peak %s MiB; goal <= 256 MiB)\n' "$RSS1" "$ANON1" "$HWM1"

# ---- 2. a large table ----
if [[ "$BIG_ROWS" == 0 && -z "${BIG_ARCHIVE:-}" ]]; then exit 0; fi
if [[ -z "${BIG_ARCHIVE:-}" ]]; then
    BIG_ARCHIVE="$WORK/big"
    log "loading the workload, $BIG_ROWS rows per table, into $WORK/cluster"
    "$BRTOOL" workload load --pd "local://$WORK/cluster" --db sbtest --tables 1 --rows "$BIG_ROWS" >&2
    log "backup full -> $BIG_ARCHIVE"
    "$BRTOOL" backup full --pd "local://$WORK/cluster" -s "local://$BIG_ARCHIVE" >&2
    rm -rf "$WORK/cluster"
fi
CSV="$MNT/sbtest/sbtest1/rows.csv"
mount_it "local://$BIG_ARCHIVE" --cache-dir "$WORK"
T0="$(now)"
head -c 1 "$CSV" >/dev/null
FIRST_SECS="$(secs_since "$T0")"
SIZE="$(stat -c %s "$CSV")"
T0="$(now)"
dd if="$CSV" of=/dev/null bs=1M status=none
READ_SECS="$(secs_since "$T0")"
RSS2="$(rss_mib "$BRFS_PID")"; HWM2="$(hwm_mib "$BRFS_PID")"
umount_it
# A second mount: first byte at an offset in the middle (sparse index, page cache cold).
mount_it "local://$BIG_ARCHIVE" --cache-dir "$WORK"
T0="$(now)"
dd if="$CSV" of=/dev/null bs=4k count=1 skip=$((SIZE / 8192)) status=none
MID_SECS="$(secs_since "$T0")"
umount_it
printf '\nLarge table sbtest.sbtest1 (%s)\n' "$BIG_ARCHIVE"
printf '  rows.csv size    %8.1f MB\n' "$(awk -v s="$SIZE" 'BEGIN { print s / 1e6 }')"
printf '  first byte       %8.3f s   (open + stat (sizes the table) + first read; goal <= 0.2 s)\n' "$FIRST_SECS"
printf '  middle 4 KiB     %8.3f s   (fresh mount)\n' "$MID_SECS"
printf '  sequential read  %8.3f s   %.1f MB/s (goal >= 150 MB/s)\n' "$READ_SECS" "$(awk -v s="$SIZE" -v t="$READ_SECS" 'BEGIN { print s / 1e6 / t }')"
printf '  RSS after read   %8s MiB (peak %s MiB)\n' "$RSS2" "$HWM2"
