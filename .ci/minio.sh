#!/usr/bin/env bash
# A throw-away MinIO on a loopback port for the tests and for trying the production profile on one machine.
#   build                         installs the server into ~/.cache/hamp/bin (go install; skipped when there)
#   start DIR PORT [CONSOLE_PORT] serves DIR/data on PORT (console on CONSOLE_PORT, default PORT+1),
#                                 waits until it is ready, prints the storage_url
#   stop DIR                      stops what `start DIR` started
# Credentials: $MINIO_ROOT_USER (default hamp-test) and $MINIO_ROOT_PASSWORD (default hamp-test-secret).
# Needs Go only to build (go on PATH, else /usr/local/go/bin/go); no Docker, no root.
set -euo pipefail
cmd=${1:?build|start|stop}
bin_dir=${HAMP_BIN_DIR:-$HOME/.cache/hamp/bin}
version=${MINIO_VERSION:-latest}

minio_binary() { # the cached build first, else one on PATH
  if [ -x "$bin_dir/minio" ]; then echo "$bin_dir/minio"; else command -v minio; fi
}

gone() { # PID: exited (a zombie may wait a while to be reaped)
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
  [[ $stat == Z* ]]
}

urlencode() { # for credentials in the printed URL
  local s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
    [A-Za-z0-9._~-]) out+=$c ;;
    *) printf -v c '%%%02X' "'$c"; out+=$c ;;
    esac
  done
  printf '%s' "$out"
}

stop() { # DIR
  local pidfile=$1/minio.pid pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do gone "$pid" && break; sleep 0.1; done
  gone "$pid" || kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

case "$cmd" in
build)
  if [ -x "$bin_dir/minio" ]; then exit 0; fi
  go=$(command -v go || echo /usr/local/go/bin/go)
  mkdir -p "$bin_dir"
  # Compiling MinIO takes minutes on a cold machine; CI caches ~/.cache/hamp.
  GOBIN=$bin_dir "$go" install "github.com/minio/minio@$version"
  ;;
start)
  dir=${2:?data directory}; port=${3:?port}; console=${4:-$((port + 1))}
  user=${MINIO_ROOT_USER:-hamp-test}; password=${MINIO_ROOT_PASSWORD:-hamp-test-secret}
  binary=$(minio_binary) || { echo "minio.sh: no minio binary; run: $0 build" >&2; exit 1; }
  mkdir -p "$dir/data"
  stop "$dir"
  # Own log, stdin from /dev/null: a caller that captures our output must not wait for the server.
  MINIO_ROOT_USER=$user MINIO_ROOT_PASSWORD=$password MINIO_BROWSER=off MINIO_UPDATE=off MINIO_CI_CD=on \
    nohup "$binary" server "$dir/data" --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" \
    </dev/null >"$dir/minio.log" 2>&1 &
  echo $! >"$dir/minio.pid"
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/minio/health/ready" && break
    if gone "$(cat "$dir/minio.pid")"; then
      echo "minio.sh: the server exited; log $dir/minio.log:" >&2
      tail -n 20 "$dir/minio.log" >&2
      rm -f "$dir/minio.pid"
      exit 1
    fi
    sleep 0.1
  done
  if ! curl -sf -o /dev/null "http://127.0.0.1:$port/minio/health/ready"; then
    echo "minio.sh: not ready on $port after 30s; log $dir/minio.log" >&2
    tail -n 20 "$dir/minio.log" >&2
    stop "$dir"
    exit 1
  fi
  echo "http://$(urlencode "$user"):$(urlencode "$password")@127.0.0.1:$port"
  ;;
stop)
  stop "${2:?data directory}"
  ;;
*)
  echo "usage: $0 build | start DIR PORT [CONSOLE_PORT] | stop DIR" >&2
  exit 2
  ;;
esac
