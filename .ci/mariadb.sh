#!/usr/bin/env bash
# A throw-away MariaDB on a loopback port for the tests: `start DIR PORT` prints the test URL,
# `stop DIR` stops it. Uses Debian's mariadb-server binaries; needs no systemd and no root login.
#
# A primary with a read replica (GTID replication, the replica read_only and `hamp` there without
# the privileges that bypass it):
#   start-pair DIR PRIMARY_PORT REPLICA_PORT   prints the primary URL, then the replica URL
#   stop-pair DIR                              stops both
#   stop-replica DIR / start-replica DIR       stops / starts (and verifies) just the replica
set -euo pipefail
cmd=${1:?start|stop|start-pair|stop-pair|stop-replica|start-replica}; dir=${2:?data directory}; port=${3:-3307}

# --- the pair's helpers ------------------------------------------------------------------------
pair_install() {  # DIR: a fresh datadir under DIR/data
  # Its own tmpdir: mariadb-install-db runs sharing /tmp can fail each other ("Unknown table 'mysql.tmp_user_sys'").
  mkdir -p "$1/tmp"
  if [ ! -d "$1/data/mysql" ]; then
    mariadb-install-db --datadir="$1/data" --user="$(id -un)" --auth-root-authentication-method=socket \
      --skip-test-db --tmpdir="$1/tmp" >"$1/install.log" 2>&1 || {
      echo "mariadb-install-db failed in $1:" >&2
      tail -n 20 "$1/install.log" >&2
      rm -rf "$1/data"
      return 1
    }
  fi
}
pair_launch() {  # DIR PORT EXTRA-ARGS...: mariadbd in the background, waits until it answers
  local d=$1 p=$2; shift 2
  echo "$p" >"$d/port"
  mariadbd --datadir="$d/data" --port="$p" --bind-address=127.0.0.1 --socket="$d/mysqld.sock" \
    --pid-file="$d/mysqld.pid" --user="$(id -un)" --log-error="$d/error.log" --tmpdir="$d/tmp" \
    --innodb-buffer-pool-size=128M --innodb-flush-log-at-trx-commit=2 --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci --max-connections=500 \
    "$@" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 120); do
    mariadb --socket="$d/mysqld.sock" -uroot -e "SELECT 1" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "mariadbd in $d did not answer on port $p; the end of $d/error.log:" >&2
  tail -n 30 "$d/error.log" >&2 || true
  return 1
}
pair_stop() {  # DIR
  if [ -f "$1/mysqld.pid" ]; then
    kill "$(cat "$1/mysqld.pid")" 2>/dev/null || true
    for _ in $(seq 1 60); do [ -f "$1/mysqld.pid" ] || break; sleep 0.5; done
  fi
}
pair_sql() {  # DIR SQL: as root over the server's socket
  mariadb --socket="$1/mysqld.sock" -uroot --batch --skip-column-names -e "$2"
}
start_replica_server() {  # DIR: the replica's mariadbd (it resumes replicating by itself)
  pair_launch "$1/replica" "$(cat "$1/replica/port")" --server-id=2 --read-only \
    --relay-log="$1/replica/relay"
}
verify_replicating() {  # DIR: both replication threads running, else the status and exit 1
  local status=""
  for _ in $(seq 1 60); do
    status=$(mariadb --socket="$1/replica/mysqld.sock" -uroot -e "SHOW SLAVE STATUS\G" 2>&1 || true)
    if grep -q "Slave_IO_Running: Yes" <<<"$status" && grep -q "Slave_SQL_Running: Yes" <<<"$status"; then
      return 0
    fi
    sleep 0.5
  done
  printf 'the replica in %s is not replicating:\n%s\n' "$1/replica" "$status" >&2
  return 1
}
wait_caught_up() {  # DIR: the replica has applied everything the primary has logged so far
  local pos
  pos=$(pair_sql "$1/primary" "SELECT @@gtid_binlog_pos")
  [ "$(pair_sql "$1/replica" "SELECT MASTER_GTID_WAIT('$pos', 30)")" = "0" ] || {
    echo "the replica did not reach $pos within 30 s" >&2
    return 1
  }
}

case "$cmd" in
start)
  mkdir -p "$dir/tmp"
  if [ ! -d "$dir/data/mysql" ]; then
    mariadb-install-db --datadir="$dir/data" --user="$(id -un)" --auth-root-authentication-method=socket \
      --skip-test-db --tmpdir="$dir/tmp" >"$dir/install.log" 2>&1
  fi
  mariadbd --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 --socket="$dir/mysqld.sock" \
    --tmpdir="$dir/tmp" \
    --pid-file="$dir/mysqld.pid" --user="$(id -un)" --log-error="$dir/error.log" \
    --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=2 --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci --max-connections=500 \
    --log-bin="$dir/binlog" --server-id=1 --binlog-format=ROW >/dev/null 2>&1 &
  for _ in $(seq 1 120); do
    mariadb --socket="$dir/mysqld.sock" -uroot -e "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.5
  done
  mariadb --socket="$dir/mysqld.sock" -uroot -e "
    CREATE USER IF NOT EXISTS 'hamp'@'127.0.0.1' IDENTIFIED BY 'hamp-test';
    GRANT ALL PRIVILEGES ON *.* TO 'hamp'@'127.0.0.1' WITH GRANT OPTION;"
  echo "mysql+aiomysql://hamp:hamp-test@127.0.0.1:${port}/"
  ;;
stop)
  if [ -f "$dir/mysqld.pid" ]; then
    kill "$(cat "$dir/mysqld.pid")" 2>/dev/null || true
    for _ in $(seq 1 60); do [ -f "$dir/mysqld.pid" ] || break; sleep 0.5; done
  fi
  ;;
start-pair)
  primary_port=${3:?primary port}; replica_port=${4:?replica port}
  mkdir -p "$dir/primary" "$dir/replica"
  started=no
  trap '[ "$started" = yes ] || { pair_stop "$dir/replica"; pair_stop "$dir/primary"; echo "start-pair failed (logs in $dir)" >&2; }' EXIT
  pair_install "$dir/primary"
  pair_install "$dir/replica"
  echo "$replica_port" >"$dir/replica/port"
  pair_launch "$dir/primary" "$primary_port" --log-bin="$dir/primary/binlog" --server-id=1 --binlog-format=ROW
  # The replication account stays out of the binary log; `hamp` is logged, so the replica gets it.
  pair_sql "$dir/primary" "
    SET SESSION sql_log_bin=0;
    CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY 'repl-test';
    GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';
    SET SESSION sql_log_bin=1;
    CREATE USER IF NOT EXISTS 'hamp'@'127.0.0.1' IDENTIFIED BY 'hamp-test';
    GRANT ALL PRIVILEGES ON *.* TO 'hamp'@'127.0.0.1' WITH GRANT OPTION;"
  start_replica_server "$dir"
  # An empty GTID position: the replica applies the primary's binary log from its beginning.
  pair_sql "$dir/replica" "
    STOP SLAVE;
    SET GLOBAL gtid_slave_pos='';
    CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$primary_port, MASTER_USER='repl',
      MASTER_PASSWORD='repl-test', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
    START SLAVE;"
  verify_replicating "$dir"
  wait_caught_up "$dir"
  # On the replica (which logs nothing), `hamp` loses what would let it write past read_only.
  pair_sql "$dir/replica" "REVOKE SUPER, READ_ONLY ADMIN ON *.* FROM 'hamp'@'127.0.0.1'"
  started=yes
  echo "mysql+aiomysql://hamp:hamp-test@127.0.0.1:${primary_port}/"
  echo "mysql+aiomysql://hamp:hamp-test@127.0.0.1:${replica_port}/"
  ;;
stop-pair)
  pair_stop "$dir/replica"
  pair_stop "$dir/primary"
  ;;
stop-replica)
  pair_stop "$dir/replica"
  ;;
start-replica)
  start_replica_server "$dir"
  verify_replicating "$dir"
  ;;
*)
  echo "usage: $0 start DIR PORT | stop DIR | start-pair DIR PRIMARY_PORT REPLICA_PORT | stop-pair DIR" \
    "| stop-replica DIR | start-replica DIR" >&2
  exit 2
  ;;
esac
