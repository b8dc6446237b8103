#!/usr/bin/env bash
# Object-store benchmark (issue 7): the same workload backed up and restored through
# `local://` and through the S3 server of scripts/test-servers.sh (moto on 127.0.0.1), with
# the release brtool; prints MB/s of logical data for each and the ratio S3 / local. Asserts
# nothing: it measures.
#
# Usage: scripts/bench-s3.sh [SCRATCH_DIR]
#   SCRATCH_DIR       default: a new mktemp dir under /tmp (removed at the end unless KEEP=1)
#   TABLES=N ROWS=M   workload size (default 1 sysbench table + the 4 special tables, 200000
#                     rows each: about 276 MB logical, 83 MB stored)
#   SKIP_BUILD=1      use the existing release binary
#   KEEP=1            keep the scratch dir
# The S3 server is started if it is not running (and then stopped at the end). moto keeps
# objects in memory and is written in Python: the ratio says what the S3 code path costs on
# loopback against that server, not what AWS would give.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/brtool"
TABLES="${TABLES:-1}"
ROWS="${ROWS:-200000}"

log() { printf '[bench-s3 %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building brtool (release, target dir $TARGET)"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release --quiet --bin brtool)
fi
[[ -x "$BIN" ]] || die "no binary at $BIN"

WORK="${1:-}"
if [[ -z "$WORK" ]]; then
    WORK="$(mktemp -d /tmp/brkit-bench-s3.XXXXXX)"
else
    mkdir -p "$WORK"
    [[ -z "$(ls -A "$WORK")" ]] || die "scratch dir $WORK is not empty"
fi
STARTED_SERVERS=0
cleanup() {
    local rc=$?
    if [[ "$STARTED_SERVERS" == 1 ]]; then bash "$ROOT/scripts/test-servers.sh" stop || true; fi
    if [[ "${KEEP:-0}" != 1 ]]; then rm -rf "$WORK"; else log "kept $WORK"; fi
    exit "$rc"
}
trap cleanup EXIT

if ! bash "$ROOT/scripts/test-servers.sh" status >/dev/null; then
    STARTED_SERVERS=1
    bash "$ROOT/scripts/test-servers.sh" start || die "the object-store servers did not start"
fi
eval "$(bash "$ROOT/scripts/test-servers.sh" env)"
[[ -n "${BRKIT_TEST_S3_URL:-}" ]] || die "no S3 server"
S3_URL="${BRKIT_TEST_S3_URL/\?//bench-$(date +%s)-$$?}"
LOCAL_URL="local://$WORK/archive"

log "loading $TABLES table(s) x $ROWS rows (+ the special tables) into $WORK/src"
"$BIN" workload load --pd "local://$WORK/src" --tables "$TABLES" --rows "$ROWS" >/dev/null

# Warm-up (page cache, compactions after the load), also the ceiling: a backup to noop://
# reads and encodes everything and writes nothing.
log "backup full -> noop:// (warm-up)"
out="$("$BIN" backup full --pd "local://$WORK/src" -s noop:// --json)"
NOOP_S="$(json seconds <<<"$out")"

declare -A BK RS
for target in local s3; do
    if [[ $target == local ]]; then url=$LOCAL_URL; else url=$S3_URL; fi
    log "backup full -> $target"
    out="$("$BIN" backup full --pd "local://$WORK/src" -s "$url" --json)"
    logical="$(json logical_bytes <<<"$out")"
    BK[$target]="$(json seconds <<<"$out")"
    BK[${target}_stored]="$(json stored_bytes <<<"$out")"
    log "restore full <- $target"
    out="$("$BIN" restore full --pd "local://$WORK/dst-$target" -s "$url" --json)"
    RS[$target]="$(json seconds <<<"$out")"
    rm -rf "$WORK/dst-$target"
done

python3 - "$logical" "${BK[local]}" "${RS[local]}" "${BK[s3]}" "${RS[s3]}" "${BK[local_stored]}" "$NOOP_S" <<'EOF'
import sys
logical, bl, rl, bs, rs, stored, noop = (float(x) for x in sys.argv[1:8])
mb = logical / 1e6
row = lambda name, b, r: print(f"{name:<8} {b:>9.2f} {mb / b:>12.1f} {r:>10.2f} {mb / r:>13.1f}")
print(f"workload: {mb:.1f} MB logical, {stored / 1e6:.1f} MB stored (zstd)")
print(f"{'target':<8} {'backup s':>9} {'backup MB/s':>12} {'restore s':>10} {'restore MB/s':>13}")
print(f"{'noop':<8} {noop:>9.2f} {mb / noop:>12.1f}")
row("local", bl, rl)
row("s3", bs, rs)
print(f"ratio s3/local throughput: backup {bl / bs:.2f}, restore {rl / rs:.2f}")
EOF
