#!/usr/bin/env bash
# The production profile on one machine: the whole platform against real servers, every process
# configured only by HAMP_* environment variables, as the Helm chart configures its pods.
#
#   .ci/production.sh start DIR   starts everything below, prints the console URL and the login; returns
#   .ci/production.sh stop DIR    stops everything `start DIR` started (the data stays in DIR)
#
# What it starts, all on free loopback ports, all data under DIR (docs/production.md):
#   MariaDB primary + read replica (.ci/mariadb.sh start-pair), one database per component;
#   Redis Sentinel: master, replica, three sentinels (.ci/redis.sh);
#   MinIO (.ci/minio.sh; `.ci/minio.sh build` first on a new machine);
#   Elasticsearch (.ci/elasticsearch.sh), the logs' destination;
#   `hamp migrate` once (the chart's pre-install/pre-upgrade Job), then three registry peers, two instances
#   of each of the seven services, two gateways, and one address in front of both gateways (a
#   round-robin TCP balancer standing in for the Ingress).
# HAMP_* variables already in the environment are passed on to every process (e.g. a known
# HAMP_GATEWAY_SUPERADMIN_PASSWORD; without one, the superadmin's one-time password is generated
# into DIR/secrets/admin-password). Demo data (HAMP_DEMO_DATA, HAMP_<COMPONENT>_DEMO_DATA) is loaded
# by the first instance of a component only: two loading at once would race.
# If a step fails, or Ctrl-C comes while starting, whatever was started is stopped again.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?data directory}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=$root/.venv/bin/python
[ "$cmd" != start ] || mkdir -p "$dir"
[ -d "$dir" ] || { echo "no directory $dir" >&2; exit 1; }
dir=$(cd "$dir" && pwd)
SERVICES=(dbs oms hms tms dms sms pms)
INSTANCES=2

say() { printf '[production +%ss] %s\n' "$SECONDS" "$*"; }

gone() { # PID: exited (a zombie waiting to be reaped counts)
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
  [[ $stat == Z* ]]
}

stop_pids() { # NAME...: SIGTERM to each DIR/run/NAME.pid at once, then wait (SIGKILL after 20 s)
  local name pid pids=()
  for name in "$@"; do
    [ -f "$dir/run/$name.pid" ] || continue
    pid=$(cat "$dir/run/$name.pid")
    rm -f "$dir/run/$name.pid"
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  for pid in ${pids[@]+"${pids[@]}"}; do
    for _ in $(seq 1 200); do gone "$pid" && break; sleep 0.1; done
    gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
  done
}

stop_all() {
  local name i gateways=() services=()
  for i in $(seq 1 $INSTANCES); do gateways+=("gateway-$i"); done
  for name in "${SERVICES[@]}"; do for i in $(seq 1 $INSTANCES); do services+=("$name-$i"); done; done
  # As `hamp up` stops: the entry first (nothing new comes in), the services, the registry last.
  stop_pids balancer
  stop_pids "${gateways[@]}"
  stop_pids "${services[@]}"
  stop_pids registry-1 registry-2 registry-3
  [ -d "$dir/elasticsearch" ] && "$root/.ci/elasticsearch.sh" stop "$dir/elasticsearch" || true
  [ -d "$dir/minio" ] && "$root/.ci/minio.sh" stop "$dir/minio" || true
  [ -d "$dir/redis" ] && "$root/.ci/redis.sh" stop "$dir/redis" || true
  [ -d "$dir/mariadb" ] && "$root/.ci/mariadb.sh" stop-pair "$dir/mariadb" || true
}

wait_http() { # URL SECONDS PID-OR-EMPTY: until URL answers 2xx; fails early when PID exits
  local url=$1 seconds=$2 pid=${3:-}
  for _ in $(seq 1 $((seconds * 5))); do
    curl -sf -o /dev/null --max-time 2 "$url" && return 0
    if [ -n "$pid" ] && gone "$pid"; then return 1; fi
    sleep 0.2
  done
  return 1
}

free_ports() { # COUNT: one run of five consecutive ports (Redis: master, replica, 3 sentinels), then COUNT more
  "$py" - "$1" <<'PY'
import random, socket, sys

def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True

# Below the kernel's ephemeral range, as tests/support/servers.py picks them.
taken = set()
while True:
    base = random.randrange(20000, 32000 - 5)
    if all(free(base + i) for i in range(5)):
        taken.update(range(base, base + 5))
        break
ports = [base]
while len(ports) < 1 + int(sys.argv[1]):
    port = random.randrange(20000, 32000)
    if port not in taken and free(port):
        taken.add(port)
        ports.append(port)
print(*ports)
PY
}

make_secrets() { # what the chart takes from existing Secrets, made once per DIR
  local s=$dir/secrets
  mkdir -p "$s" && chmod 700 "$s"
  [ -f "$s/signing-key.pem" ] || openssl genrsa -out "$s/signing-key.pem" 2048 2>/dev/null
  [ -f "$s/service-secret" ] || openssl rand -base64 32 | tr -d '\n' >"$s/service-secret"
  [ -f "$s/registry-password" ] || openssl rand -hex 24 | tr -d '\n' >"$s/registry-password"
  [ -f "$s/audit-key" ] || openssl rand -base64 32 | tr -d '\n' >"$s/audit-key"
  [ -f "$s/field-index-key" ] || openssl rand -base64 32 | tr -d '\n' >"$s/field-index-key"
  [ -f "$s/field-encryption-keys.json" ] ||
    printf '{"k1": "%s"}' "$(openssl rand -base64 32 | tr -d '\n')" >"$s/field-encryption-keys.json"
  [ -f "$s/redis-password" ] || openssl rand -hex 16 | tr -d '\n' >"$s/redis-password"
  [ -f "$s/elastic-password" ] || openssl rand -hex 16 | tr -d '\n' >"$s/elastic-password"
  [ -f "$s/minio-password" ] || openssl rand -hex 16 | tr -d '\n' >"$s/minio-password"
  if [ -z "${HAMP_GATEWAY_SUPERADMIN_PASSWORD:-}" ] && [ ! -f "$s/admin-password" ]; then
    openssl rand -base64 12 | tr -d '\n/+=' >"$s/admin-password"
  fi
  chmod 600 "$s"/*
}

common_env() { # the variables every pod of the chart gets (ConfigMap + Secrets)
  export HAMP_LOG_TO_FILE=false HAMP_LOG_TO_STDOUT=true PYTHONUNBUFFERED=1
  export HAMP_MIGRATE_ON_START=false  # the migration Job ran
  # Every component lists the three peers (as the chart's StatefulSet), each peer all three (it finds itself).
  export HAMP_REGISTRY_URLS="$registry_urls" HAMP_REGISTRY_PEER_URLS="$registry_urls"
  export HAMP_JWKS_URL="$console_url/api/auth/jwks"
  export HAMP_REDIS_SENTINELS="$redis_sentinels" HAMP_REDIS_MASTER_NAME=hamp HAMP_REDIS_PASSWORD="$redis_password"
  export HAMP_STORAGE_URL="$storage_url"
  export HAMP_SERVICE_SECRET="$(cat "$dir/secrets/service-secret")"
  export HAMP_REGISTRY_PASSWORD="$(cat "$dir/secrets/registry-password")"
  export HAMP_AUDIT_KEY="$(cat "$dir/secrets/audit-key")"
  export HAMP_GATEWAY_SIGNING_KEY_PEM="$(cat "$dir/secrets/signing-key.pem")"
  if [ -f "$dir/secrets/admin-password" ]; then
    export HAMP_GATEWAY_SUPERADMIN_PASSWORD="$(cat "$dir/secrets/admin-password")"
    export HAMP_GATEWAY_SUPERADMIN_PASSWORD_IS_INITIAL=true
  fi
}

field_key_vars() { # the keys of ID cards and phones at rest, for those that store them (the chart's personalData)
  echo "HAMP_FIELD_ENCRYPTION_KEYS=$(cat "$dir/secrets/field-encryption-keys.json")"
  echo "HAMP_FIELD_INDEX_KEY=$(cat "$dir/secrets/field-index-key")"
}

database_vars() { # COMPONENT: its database on the primary and on the replica, one variable a line
  echo "HAMP_${1^^}_DATABASE_URL=${primary_url}hamp_$1"
  echo "HAMP_${1^^}_DATABASE_REPLICA_URLS=[\"${replica_url}hamp_$1\"]"
}

pod() { # NAME INDEX PORT: one instance's own variables (beside the common ones) in DIR/run/ID.env
  local name=$1 index=$2 port=$3 id=$1${2:+-$2} upper=${1^^}
  mkdir -p "$dir/var/$id"
  {
    [ "$name" = registry ] || database_vars "$name"
    [ "$name" != oms ] && [ "$name" != gateway ] || field_key_vars
    echo "HAMP_${upper}_PORT=$port"
    echo "HAMP_VAR_DIR=$dir/var/$id"  # a pod's own scratch disk: nothing in it is shared
    if [ "${index:-1}" != 1 ]; then echo "HAMP_DEMO_DATA=false"; echo "HAMP_${upper}_DEMO_DATA=false"; fi
  } >"$dir/run/$id.env"
  chmod 600 "$dir/run/$id.env"
  echo "$port" >"$dir/run/$id.port"
}

launch() { # ID...: each instance as a process of its own (a pod), `hamp run NAME` with the common
  # variables and its DIR/run/ID.env, output to DIR/logs/ID.log. All are forked from one launcher that
  # imported their code once, as `hamp up` forks its children (shared/supervisor.py): that import is
  # most of an instance's start, and 17 of them would cost two cores half a minute.
  (cd "$root" && "$py" - "$dir" "$@" <<'PY'
import os
import sys

from shared import components
from shared.cli import become

directory, ids = sys.argv[1], sys.argv[2:]
for name in {i.split("-")[0] for i in ids}:
    components.load(name)
for instance in ids:
    pid = os.fork()
    if pid:
        with open(f"{directory}/run/{instance}.pid", "w") as f:
            f.write(str(pid))
        continue
    try:
        os.setsid()  # a terminal's Ctrl-C reaches the script, which stops everything in order
        with open(f"{directory}/run/{instance}.env") as f:
            env = {**os.environ, **dict(line.split("=", 1) for line in f.read().splitlines() if line)}
        out = os.open(f"{directory}/logs/{instance}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        become(instance.split("-")[0], env, out)
    finally:
        os._exit(1)  # only when something failed before `become`, which never returns
PY
  )
}

wait_ready() { # ID...: each answers its readiness probe
  local id probe
  for id in "$@"; do
    probe=/health/ready
    [[ $id == registry-* ]] && probe=/health
    if ! wait_http "http://127.0.0.1:$(cat "$dir/run/$id.port")$probe" 120 "$(cat "$dir/run/$id.pid")"; then
      say "$id did not become ready; the end of $dir/logs/$id.log:"
      tail -n 30 "$dir/logs/$id.log" >&2 || true
      return 1
    fi
  done
}

registered() { # APP COUNT: every registry peer lists COUNT instances of APP up (replicated)
  local seen port
  for port in "${registry_ports[@]}"; do
    seen=$(curl -sf -H 'Accept: application/json' "http://127.0.0.1:$port/eureka/apps/$1" |
      grep -o '"status": *"UP"' | wc -l) || return 1
    [ "$seen" -ge "$2" ] || return 1
  done
}

balancer() { # PORT BACKEND-PORT...: round robin per connection, skipping a backend that refuses
  exec "$py" - "$@" <<'PY'
import asyncio, itertools, sys

port, backends = int(sys.argv[1]), [int(p) for p in sys.argv[2:]]
turn = itertools.count()

async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()

async def serve(client_reader, client_writer):
    start = next(turn)
    for i in range(len(backends)):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", backends[(start + i) % len(backends)])
            break
        except OSError:
            continue
    else:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, writer), pipe(reader, client_writer))

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", port)
    async with server:
        await server.serve_forever()

asyncio.run(main())
PY
}

start() {
  # Each run on a new DIR: its servers are set up fresh (the replica starts from the primary's first
  # binary log entry), and a used DIR keeps its logs for reading after `stop`.
  if [ -n "$(ls -A "$dir")" ]; then
    say "$dir is not empty: start on a new directory (the last run's: $0 stop $dir, then remove it)" >&2
    exit 1
  fi
  mkdir -p "$dir/run" "$dir/logs" "$dir/var"
  started=no
  trap '[ "$started" = yes ] || { say "start failed or interrupted: stopping what was started"; stop_all; }' EXIT
  trap 'exit 130' INT TERM
  SECONDS=0
  local count=$((2 + 2 + 1 + 1 + 3 + INSTANCES * (${#SERVICES[@]} + 1) + 1))
  read -r -a ports <<<"$(free_ports $count)"
  local redis_port=${ports[0]} primary_port=${ports[1]} replica_port=${ports[2]} minio_port=${ports[3]}
  local minio_console=${ports[4]} es_port=${ports[5]}
  registry_ports=("${ports[@]:6:3}")
  registry_port=${registry_ports[0]}
  registry_urls=$(printf 'http://127.0.0.1:%s/eureka/,' "${registry_ports[@]}")
  registry_urls=${registry_urls%,}
  local balancer_port=${ports[9]} next=10
  console_url="http://127.0.0.1:$balancer_port"

  # Elasticsearch takes longest: it starts first and is waited for just before the components.
  make_secrets
  ELASTIC_PASSWORD=$(cat "$dir/secrets/elastic-password") "$root/.ci/elasticsearch.sh" start "$dir/elasticsearch" \
    "$es_port" >"$dir/logs/elasticsearch-start.log" 2>&1 &
  local es_pid=$!

  say "MariaDB primary + replica, Redis Sentinel, MinIO"
  (
    mkdir -p "$dir/mariadb"
    "$root/.ci/mariadb.sh" start-pair "$dir/mariadb" "$primary_port" "$replica_port" >"$dir/run/mariadb.urls"
  ) 2>"$dir/logs/mariadb-start.log" &
  local mariadb_pid=$!
  redis_password=$(cat "$dir/secrets/redis-password")
  REDIS_PASSWORD=$redis_password "$root/.ci/redis.sh" start "$dir/redis" "$redis_port" >"$dir/run/redis.sentinels" \
    2>"$dir/logs/redis-start.log" &
  local redis_pid=$!
  storage_url=$(MINIO_ROOT_USER=hamp MINIO_ROOT_PASSWORD=$(cat "$dir/secrets/minio-password") \
    "$root/.ci/minio.sh" start "$dir/minio" "$minio_port" "$minio_console" 2>"$dir/logs/minio-start.log") || {
    cat "$dir/logs/minio-start.log" >&2; return 1; }
  wait "$redis_pid" || { cat "$dir/logs/redis-start.log" >&2; return 1; }
  wait "$mariadb_pid" || { cat "$dir/logs/mariadb-start.log" >&2; return 1; }
  redis_sentinels=$(tail -n 1 "$dir/run/redis.sentinels")
  { read -r primary_url; read -r replica_url; } < <(tail -n 2 "$dir/run/mariadb.urls")

  # One database per component, made on the primary (the replica gets them by replication).
  local name sql=""
  for name in gateway "${SERVICES[@]}"; do
    sql+="CREATE DATABASE IF NOT EXISTS hamp_$name CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
  done
  mariadb --socket="$dir/mariadb/primary/mysqld.sock" -uroot -e "$sql"

  common_env
  say "hamp migrate (as the chart's pre-upgrade Job)"
  (
    for name in gateway "${SERVICES[@]}"; do
      while IFS= read -r line; do export "${line?}"; done < <(database_vars "$name")
    done
    while IFS= read -r line; do export "${line?}"; done < <(field_key_vars)
    cd "$root" && "$py" -m shared.cli migrate
  ) >"$dir/logs/migrate.log" 2>&1 || {
    tail -n 30 "$dir/logs/migrate.log" >&2; return 1; }

  wait "$es_pid" || { cat "$dir/logs/elasticsearch-start.log" >&2; return 1; }
  elasticsearch_url=$(tail -n 1 "$dir/logs/elasticsearch-start.log")
  export HAMP_LOG_ELASTICSEARCH_URL=$elasticsearch_url HAMP_LOG_ELASTICSEARCH_USERNAME=hamp
  export HAMP_LOG_ELASTICSEARCH_PASSWORD="$(cat "$dir/secrets/elastic-password")"

  say "three registry peers, then ${INSTANCES} instances of each service"
  for i in 1 2 3; do pod registry "$i" "${registry_ports[$((i - 1))]}"; done
  launch registry-1 registry-2 registry-3
  wait_ready registry-1 registry-2 registry-3
  local i ids=()
  for name in "${SERVICES[@]}"; do
    for i in $(seq 1 $INSTANCES); do
      pod "$name" "$i" "${ports[$next]}"
      ids+=("$name-$i") next=$((next + 1))
    done
  done
  launch "${ids[@]}"
  wait_ready "${ids[@]}"
  # A registration the registry did not take (a loaded machine) is made again at the next heartbeat.
  for name in "${SERVICES[@]}"; do
    for _ in $(seq 1 200); do registered "${name^^}" "$INSTANCES" && break; sleep 0.2; done
    registered "${name^^}" "$INSTANCES" || {
      say "a registry peer does not list $INSTANCES instances of $name:"
      curl -s -H 'Accept: application/json' "http://127.0.0.1:$registry_port/eureka/apps/${name^^}" >&2
      tail -n 5 "$dir/logs/$name"-*.log >&2
      return 1
    }
  done
  # The gateways last: each fetches the registry at start and so routes to every instance at once.
  # The balancer before them: a service asks for the gateways' keys (HAMP_JWKS_URL, the balancer) at
  # the first gateway token it meets, and after a failed ask waits before asking again.
  # One after the other: the first creates the superadmin and the built-in roles in an empty database.
  say "the balancer, then the gateways behind it"
  local gateway_ports=("${ports[@]:$next:$INSTANCES}")
  balancer "$balancer_port" "${gateway_ports[@]}" </dev/null >"$dir/logs/balancer.log" 2>&1 &
  echo $! >"$dir/run/balancer.pid"
  for i in $(seq 1 $INSTANCES); do
    pod gateway "$i" "${gateway_ports[$((i - 1))]}"
    launch "gateway-$i"
    wait_ready "gateway-$i"
  done
  for name in "${SERVICES[@]}"; do
    wait_http "$console_url/api/$name/openapi.json" 60 "$(cat "$dir/run/balancer.pid")" ||
      { say "the gateway does not route to $name"; return 1; }
  done

  # A service that met a token before the gateways answered (tms reads the feeds from its start)
  # asks for their keys again only after a pause (shared/auth.py JWKS_REFRESH_SECONDS): ready means
  # every instance knows them. A service token (as tms) shows it: refused as lacking a permission
  # (403), not as signed by an unknown key (401).
  local answer token code
  answer=$(curl -s -X POST "$console_url/api/auth/service-token" -H 'Content-Type: application/json' \
    -d "{\"service\": \"tms\", \"secret\": \"$HAMP_SERVICE_SECRET\"}")
  token=$("$py" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' <<<"$answer" 2>/dev/null) || {
    say "the gateways gave no service token: $answer"; return 1; }
  for name in "${SERVICES[@]}"; do
    for i in $(seq 1 $INSTANCES); do
      for _ in $(seq 1 150); do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
          "http://127.0.0.1:$(cat "$dir/run/$name-$i.port")/api/$name/audit-log")
        [ "$code" != 401 ] && break
        sleep 0.2
      done
      [ "$code" != 401 ] || { say "$name-$i does not know the gateways' signing key"; return 1; }
    done
  done

  {
    echo "console_url=$console_url"
    echo "registry_url=http://127.0.0.1:$registry_port"
    echo "registry_urls=$registry_urls"
    echo "primary_url=$primary_url"
    echo "replica_url=$replica_url"
    echo "redis_sentinels=$redis_sentinels"
    echo "storage_url=$storage_url"
    echo "elasticsearch_url=$elasticsearch_url"
  } >"$dir/run/urls"
  chmod 600 "$dir/run/urls"
  started=yes
  say "ready"
  say "console: $console_url/"
  if [ -f "$dir/secrets/admin-password" ]; then
    say "login:   admin / the one-time password in $dir/secrets/admin-password (change it at first login)"
  else
    say "login:   admin / the password in HAMP_GATEWAY_SUPERADMIN_PASSWORD"
  fi
  say "servers and URLs in $dir/run/urls; logs in $dir/logs; stop: $0 stop $dir"
}

case "$cmd" in
start)
  start
  ;;
stop)
  stop_all
  ;;
*)
  echo "usage: $0 start DIR | stop DIR" >&2
  exit 2
  ;;
esac
