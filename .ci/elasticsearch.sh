#!/usr/bin/env bash
# A throw-away Elasticsearch on a loopback port for the tests and for trying the production profile
# on one machine: Elastic's integ-test-zip (a plain 8.x server without a bundled JDK) from Maven Central,
# run single-node with the machine's Java 17, a small heap and basic authentication.
#   build           downloads and checks the zip into ~/.cache/hamp/elasticsearch (skipped when there)
#   start DIR PORT  serves HTTP on 127.0.0.1:PORT (transport on a free loopback port) with data, logs and
#                   config under DIR; waits until the cluster is yellow or green, prints the URL
#   stop DIR        stops what `start DIR` started (DIR/data stays: `start DIR PORT` again brings it back)
# Credentials: user `elastic` (superuser) and user `hamp` (role hamp_logs: what the platform needs on
# hamp-logs-*), both with password $ELASTIC_PASSWORD (default hamp-test-secret); ES_SECURITY=off
# serves without authentication. Heap: $ES_HEAP (default 256m). Java: $ES_JAVA_HOME, else Debian's
# openjdk-17, else the `java` on PATH. Elasticsearch refuses to run as root: as root the server runs as
# $ES_RUN_AS (default nobody), so DIR and its parents must be searchable by that user.
# Nothing is downloaded at run time: the zip holds no ML or GeoIP modules, so nothing else is fetched.
set -euo pipefail
cmd=${1:?build|start|stop}
version=${ES_VERSION:-8.19.21}
# The checksum Maven Central published for the default version, pinned here so that a changed file fails.
pinned_sha512=cf6b0a93860d329937ae7f913ec5073b0c726c77639764b93fc83a304aa1dd9d4defcfa2849948eea3b0b47c2065f994908603939fc2a4774c9c4d868c5ec1dd
cache=${HAMP_ES_CACHE:-$HOME/.cache/hamp/elasticsearch}
home=$cache/elasticsearch-$version
base=https://repo1.maven.org/maven2/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$version
user=elastic
password=${ELASTIC_PASSWORD:-hamp-test-secret}

say() { echo "elasticsearch.sh: $*" >&2; }
# shellcheck source=.ci/central.sh
. "$(dirname "$0")/central.sh"

gone() { # PID: exited (a zombie may wait a while to be reaped)
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
  [[ $stat == Z* ]]
}

build() {
  [ -x "$home/bin/elasticsearch" ] && return 0
  local zip=$cache/elasticsearch-$version.zip
  central_get "$base/elasticsearch-$version.zip" "$zip" "$([ "$version" = 8.19.21 ] && echo "$pinned_sha512")" || exit 1
  rm -rf "$home.part"
  mkdir -p "$home.part"
  unzip -q "$zip" -d "$home.part"
  mv "$home.part/elasticsearch-$version" "$home"
  rm -rf "$home.part"
}

java_home() {
  if [ -n "${ES_JAVA_HOME:-}" ]; then echo "$ES_JAVA_HOME"; return; fi
  local candidate
  for candidate in /usr/lib/jvm/java-17-openjdk-*; do
    [ -x "$candidate/bin/java" ] && { echo "$candidate"; return; }
  done
  candidate=$(command -v java) || { say "no Java 17 (apt-get install openjdk-17-jre-headless)"; exit 1; }
  dirname "$(dirname "$(readlink -f "$candidate")")"
}

stop() { # DIR
  local pidfile=$1/run/elasticsearch.pid pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do gone "$pid" && break; sleep 0.1; done
  gone "$pid" || kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

health() { # PORT: yellow or green
  local auth=()
  [ "${ES_SECURITY:-on}" = off ] || auth=(-u "$user:$password")
  curl -sf "${auth[@]}" "http://127.0.0.1:$1/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null |
    grep -q '"status":"\(green\|yellow\)"'
}

case "$cmd" in
build)
  build
  ;;
start)
  dir=${2:?data directory}; port=${3:?port}
  build
  java=$(java_home)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  stop "$dir"
  mkdir -p "$dir/data" "$dir/logs" "$dir/run" "$dir/tmp"
  rm -rf "$dir/config"
  cp -r "$home/config" "$dir/config"
  run_as=()
  es_home=$home
  if [ "$(id -u)" = 0 ]; then
    account=${ES_RUN_AS:-nobody}
    run_as=(setpriv --reuid="$account" --regid="$(id -g "$account")" --clear-groups)
    # DIR is the server's own: made by a caller with umask 077 (a `hamp` process), it would shut the
    # server out of it. Search only: the account still cannot list what else is there.
    chmod o+x "$dir"
    if ! "${run_as[@]}" test -x "$dir"; then
      say "$account cannot reach $dir: as root the server runs as $account; choose a directory it can search"
      exit 1
    fi
    # The cache under root's home is out of the account's reach: a hard-linked copy costs nothing.
    es_home=$dir/home
    if [ ! -x "$es_home/bin/elasticsearch" ]; then
      rm -rf "$es_home"
      cp -al "$home" "$es_home" 2>/dev/null || cp -a "$home" "$es_home"
    fi
  fi
  # The JIT's first tier only: a test server starts in about half the time and is fast enough.
  quick=-XX:TieredStopAtLevel=1
  security=(-E xpack.security.enabled=false)
  if [ "${ES_SECURITY:-on}" != off ]; then
    # The first start makes user elastic with the bootstrap password; later starts keep the stored one.
    printf '%s' "$password" | ES_PATH_CONF=$dir/config ES_JAVA_HOME=$java CLI_JAVA_OPTS=$quick \
      "$es_home/bin/elasticsearch-keystore" add -x -f bootstrap.password >/dev/null
    # The platform's own user `hamp` (same password) with the least it needs (docs/logging.md):
    # put its index template, create the daily indices, write and read them. A file realm: this
    # server has no modules for the native realm's .security index.
    cat >>"$dir/config/roles.yml" <<'ROLE'
hamp_logs:
  cluster: [manage_index_templates, monitor]
  indices:
    - names: ['hamp-logs-*']
      privileges: [create_doc, create_index, read, view_index_metadata]
ROLE
    ES_PATH_CONF=$dir/config ES_JAVA_HOME=$java CLI_JAVA_OPTS=$quick \
      "$es_home/bin/elasticsearch-users" useradd hamp -p "$password" -r hamp_logs >/dev/null
    security=(-E xpack.security.enabled=true -E xpack.security.http.ssl.enabled=false
      -E xpack.security.transport.ssl.enabled=false)
  fi
  [ "$(id -u)" = 0 ] && chown -R "$account:$(id -g "$account")" "$dir/data" "$dir/logs" "$dir/run" "$dir/tmp" "$dir/config"
  # -d: the launcher returns once the server runs and leaves its pid in the file; stdin from /dev/null
  # so that a caller capturing our output does not wait for the server.
  (cd "$es_home" && ES_PATH_CONF=$dir/config ES_JAVA_HOME=$java ES_TMPDIR=$dir/tmp \
    ES_JAVA_OPTS="-Xms${ES_HEAP:-256m} -Xmx${ES_HEAP:-256m} $quick" CLI_JAVA_OPTS=$quick \
    "${run_as[@]}" bin/elasticsearch -d -p "$dir/run/elasticsearch.pid" \
    -E cluster.name=hamp-test -E node.name=hamp-test -E discovery.type=single-node \
    -E http.host=127.0.0.1 -E http.port="$port" -E transport.host=127.0.0.1 -E transport.port=0 \
    -E path.data="$dir/data" -E path.logs="$dir/logs" \
    -E cluster.routing.allocation.disk.threshold_enabled=false \
    "${security[@]}" \
    </dev/null >"$dir/logs/start.out" 2>&1) || {
    say "the server did not start; $dir/logs/start.out:"
    tail -n 20 "$dir/logs/start.out" >&2
    stop "$dir"
    exit 1
  }
  for _ in $(seq 1 90); do
    health "$port" && break
    if [ ! -f "$dir/run/elasticsearch.pid" ] || gone "$(cat "$dir/run/elasticsearch.pid")"; then
      say "the server exited; log $dir/logs/hamp-test.log:"
      tail -n 20 "$dir/logs/hamp-test.log" >&2 || true
      exit 1
    fi
    sleep 1
  done
  if ! health "$port"; then
    say "not yellow on $port after 90 s; log $dir/logs/hamp-test.log"
    stop "$dir"
    exit 1
  fi
  echo "http://127.0.0.1:$port"
  ;;
stop)
  stop "${2:?data directory}"
  ;;
*)
  echo "usage: $0 build | start DIR PORT | stop DIR" >&2
  exit 2
  ;;
esac
