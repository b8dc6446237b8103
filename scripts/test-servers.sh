#!/usr/bin/env bash
# Real object-store servers for the tests, on 127.0.0.1 only (README "Object stores"):
#   S3     moto's server mode (PyPI `moto[server]`)          port $BRKIT_S3_PORT    (9000)
#   Azure  Azurite's blob service (npm `azurite`)            port $BRKIT_AZURE_PORT (10000)
#   GCS    gcp-storage-emulator (PyPI)                       port $BRKIT_GCS_PORT   (9023)
# Each keeps its data in memory; the bucket / container `brkit-test` is created on start.
#
#   scripts/test-servers.sh start    install what is missing, start, wait until ready (idempotent)
#   scripts/test-servers.sh stop     stop the servers this script started (pid files)
#   scripts/test-servers.sh status   which servers answer
#   scripts/test-servers.sh env      print `export BRKIT_TEST_{S3,AZURE,GCS}_URL=...` for the
#                                    running servers: eval "$(scripts/test-servers.sh env)"
#
# Installs go to $BRKIT_SERVERS_CACHE (default ~/.cache/brkit-servers: a Python venv and
# node_modules); pid files, logs and the env file to $BRKIT_SERVERS_RUN (default
# ${TMPDIR:-/tmp}/brkit-servers). Exit status of `start`: 0 when all three answer, 1 otherwise
# (the log tail of the server that failed is printed).
set -euo pipefail

CACHE=${BRKIT_SERVERS_CACHE:-$HOME/.cache/brkit-servers}
RUN=${BRKIT_SERVERS_RUN:-${TMPDIR:-/tmp}/brkit-servers}
HOST=127.0.0.1
S3_PORT=${BRKIT_S3_PORT:-9000}
AZURE_PORT=${BRKIT_AZURE_PORT:-10000}
GCS_PORT=${BRKIT_GCS_PORT:-9023}
BUCKET=brkit-test
# Azurite's well-known development account and its published key (not a secret).
AZ_ACCOUNT=devstoreaccount1
AZ_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
# moto accepts any key pair; distinctive values, so a test can tell they were never printed.
S3_KEY=BRKITTESTACCESSKEY
S3_SECRET=brkitTestSecretAccessKey
# Bounded waits: 120 x 0.5 s for a server to answer.
WAIT_STEPS=120
VENV=$CACHE/venv

log() { echo "test-servers: $*" >&2; }

# --------------------------------------------------------------------------------- installs

python_tools() {
  if [ -x "$VENV/bin/moto_server" ] && [ -x "$VENV/bin/gcp-storage-emulator" ]; then
    return 0
  fi
  command -v python3 >/dev/null || { log "python3 not found (scripts/setup.sh installs it)"; return 1; }
  mkdir -p "$CACHE"
  if [ ! -x "$VENV/bin/pip" ]; then
    log "creating the Python venv $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || {
      log "python3 -m venv failed: install python3-venv (scripts/setup.sh does)"
      return 1
    }
  fi
  log "installing moto[server] and gcp-storage-emulator into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check 'moto[server]>=5,<6' \
    'gcp-storage-emulator>=2024' >&2 || { log "pip install failed"; return 1; }
}

azurite_bin() {
  if command -v azurite-blob >/dev/null; then
    command -v azurite-blob
    return 0
  fi
  local b=$CACHE/node_modules/.bin/azurite-blob
  if [ ! -x "$b" ]; then
    command -v npm >/dev/null || { log "npm not found (scripts/setup.sh installs it)"; return 1; }
    mkdir -p "$CACHE"
    log "installing azurite into $CACHE/node_modules"
    npm install --prefix "$CACHE" --no-audit --no-fund --loglevel=error 'azurite@^3' >&2 \
      || { log "npm install azurite failed"; return 1; }
  fi
  echo "$b"
}

# --------------------------------------------------------------------------------- helpers

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

pid_alive() {
  local f=$RUN/$1.pid
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# Runs a tiny stdlib-only Python program (bucket creation, readiness probes).
py() { "${PYTHON:-python3}" - "$@"; }

# Creates the bucket / container; succeeds if it already exists.
create_bucket() {
  case $1 in
  s3)
    py "$HOST" "$S3_PORT" "$BUCKET" <<'EOF'
import sys, urllib.request, urllib.error
host, port, bucket = sys.argv[1:4]
req = urllib.request.Request(f"http://{host}:{port}/{bucket}", method="PUT", data=b"")
try:
    urllib.request.urlopen(req, timeout=10)
except urllib.error.HTTPError as e:
    if e.code != 409:
        sys.exit(f"creating s3 bucket: HTTP {e.code} {e.read()[:300]!r}")
EOF
    ;;
  azure)
    # Shared Key authorization (the emulator checks it), path-style account in the URL.
    py "$HOST" "$AZURE_PORT" "$BUCKET" "$AZ_ACCOUNT" "$AZ_KEY" <<'EOF'
import sys, base64, hmac, hashlib, urllib.request, urllib.error
from email.utils import formatdate
host, port, container, account, key = sys.argv[1:6]
date = formatdate(usegmt=True)
version = "2021-08-06"
canon_headers = f"x-ms-date:{date}\nx-ms-version:{version}\n"
canon_resource = f"/{account}/{account}/{container}\nrestype:container"
# Content-Type is the 5th of the 11 standard headers (urllib would add its own otherwise).
ctype = "application/octet-stream"
to_sign = "PUT\n" + "\n" * 4 + ctype + "\n" * 7 + canon_headers + canon_resource
sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()).decode()
req = urllib.request.Request(
    f"http://{host}:{port}/{account}/{container}?restype=container", method="PUT", data=b"",
    headers={"x-ms-date": date, "x-ms-version": version, "Content-Type": ctype,
             "Authorization": f"SharedKey {account}:{sig}"})
try:
    urllib.request.urlopen(req, timeout=10)
except urllib.error.HTTPError as e:
    if e.code != 409:
        sys.exit(f"creating azure container: HTTP {e.code} {e.read()[:300]!r}")
EOF
    ;;
  gcs) ;; # --default-bucket
  esac
}

# Readiness: the port accepts connections and the bucket exists (created if needed).
ready() {
  port_open "$2" && create_bucket "$1" 2>"$RUN/$1.probe"
}

start_one() {
  local name=$1 port=$2
  shift 2
  if pid_alive "$name" && ready "$name" "$port"; then
    log "$name already running on $HOST:$port (pid $(cat "$RUN/$name.pid"))"
    return 0
  fi
  if port_open "$port"; then
    log "port $HOST:$port is taken by a process this script did not start; stop it or set" \
      "BRKIT_${name^^}_PORT to a free port"
    return 1
  fi
  local logf=$RUN/$name.log
  : >"$logf"
  # setsid: the server leads its own process group, so `stop` ends it and its children.
  setsid "$@" >"$logf" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  local i
  for ((i = 0; i < WAIT_STEPS; i++)); do
    if ! pid_alive "$name"; then
      break
    fi
    if ready "$name" "$port"; then
      log "$name ready on $HOST:$port (pid $(cat "$RUN/$name.pid"))"
      return 0
    fi
    sleep 0.5
  done
  log "$name did not become ready on $HOST:$port within $((WAIT_STEPS / 2)) s; its log ($logf):"
  tail -n 30 "$logf" >&2 || true
  if [ -s "$RUN/$name.probe" ]; then
    log "last readiness probe of $name:"
    tail -n 5 "$RUN/$name.probe" >&2
  fi
  stop_one "$name"
  return 1
}

stop_one() {
  local name=$1 f=$RUN/$1.pid
  [ -f "$f" ] || return 0
  local pid
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 20; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    log "$name stopped (pid $pid)"
  fi
  rm -f "$f"
}

url_s3() {
  echo "s3://$BUCKET?endpoint=http://$HOST:$S3_PORT&region=us-east-1&access-key=$S3_KEY&secret-access-key=$S3_SECRET"
}
url_azure() {
  echo "azure://$BUCKET?endpoint=http://$HOST:$AZURE_PORT/$AZ_ACCOUNT&account-name=$AZ_ACCOUNT&account-key=$AZ_KEY"
}
url_gcs() {
  echo "gcs://$BUCKET?endpoint=http://$HOST:$GCS_PORT"
}

write_env() {
  local f=$RUN/env
  : >"$f"
  pid_alive s3 && echo "export BRKIT_TEST_S3_URL='$(url_s3)'" >>"$f"
  pid_alive azure && echo "export BRKIT_TEST_AZURE_URL='$(url_azure)'" >>"$f"
  pid_alive gcs && echo "export BRKIT_TEST_GCS_URL='$(url_gcs)'" >>"$f"
  # Tests talk to loopback only: credential chains never ask a cloud metadata service.
  echo "export AWS_EC2_METADATA_DISABLED=true" >>"$f"
  echo "export AZURE_IMDS_ENDPOINT=http://127.0.0.1:1/" >>"$f"
  return 0
}

# --------------------------------------------------------------------------------- commands

cmd_start() {
  mkdir -p "$RUN"
  local failed=() az
  if python_tools; then
    PYTHON=$VENV/bin/python
    start_one s3 "$S3_PORT" "$VENV/bin/moto_server" -H "$HOST" -p "$S3_PORT" || failed+=(s3)
    start_one gcs "$GCS_PORT" "$VENV/bin/gcp-storage-emulator" start --host "$HOST" \
      --port "$GCS_PORT" --in-memory --default-bucket "$BUCKET" || failed+=(gcs)
  else
    failed+=(s3 gcs)
  fi
  if az=$(azurite_bin); then
    start_one azure "$AZURE_PORT" "$az" --blobHost "$HOST" --blobPort "$AZURE_PORT" \
      --inMemoryPersistence --skipApiVersionCheck --loose --disableTelemetry || failed+=(azure)
  else
    failed+=(azure)
  fi
  write_env
  if ((${#failed[@]})); then
    log "FAILED to start: ${failed[*]}"
    return 1
  fi
}

cmd_stop() {
  for s in s3 azure gcs; do stop_one "$s"; done
  rm -f "$RUN/env"
}

cmd_status() {
  local rc=0 s port
  for s in s3 azure gcs; do
    case $s in s3) port=$S3_PORT ;; azure) port=$AZURE_PORT ;; gcs) port=$GCS_PORT ;; esac
    if pid_alive "$s" && port_open "$port"; then
      echo "$s: running on $HOST:$port (pid $(cat "$RUN/$s.pid"))"
    else
      echo "$s: not running"
      rc=1
    fi
  done
  return $rc
}

cmd_env() {
  if [ -s "$RUN/env" ]; then
    cat "$RUN/env"
  else
    log "no server is running (scripts/test-servers.sh start)"
  fi
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
*)
  echo "usage: $0 start|stop|status|env" >&2
  exit 2
  ;;
esac
