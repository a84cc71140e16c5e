#!/usr/bin/env bash
# A throw-away MariaDB on a loopback port for the tests: `start DIR PORT` prints the test URL,
# `stop DIR` stops it. Uses Debian's mariadb-server binaries; needs no systemd and no root login.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?data directory}; port=${3:-3307}

case "$cmd" in
start)
  mkdir -p "$dir"
  if [ ! -d "$dir/data/mysql" ]; then
    mariadb-install-db --datadir="$dir/data" --user="$(id -un)" --auth-root-authentication-method=socket \
      --skip-test-db >"$dir/install.log" 2>&1
  fi
  mariadbd --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 --socket="$dir/mysqld.sock" \
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
esac
