#!/usr/bin/env bash
# A throw-away Redis Sentinel group on loopback ports for the tests and for trying the production
# profile on one machine: a master, one replica and three sentinels (quorum 2), monitored as "hamp".
#   start DIR [PORT]  master on PORT (default 6390), replica PORT+1, sentinels PORT+2..PORT+4;
#                     prints the sentinels as HAMP_REDIS_SENTINELS / HAMP_TEST_REDIS_SENTINELS want them
#   stop DIR          stops what `start DIR` started
# Password: $REDIS_PASSWORD (default hamp-test), on the master and the replica; the sentinels have none.
# Uses Debian's redis-server and redis-sentinel binaries; needs no systemd and no root.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?data directory}; port=${3:-6390}
password=${REDIS_PASSWORD:-hamp-test}
master=hamp
replica=$((port + 1))
sentinels=($((port + 2)) $((port + 3)) $((port + 4)))

gone() { # PID: exited (a daemon's zombie may wait a while for init to reap it)
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
  [[ $stat == Z* ]]
}

stop() {
  local pidfile pids=()
  for pidfile in "$dir"/*.pid; do
    [ -f "$pidfile" ] || continue
    pids+=("$(cat "$pidfile")")
    kill "${pids[-1]}" 2>/dev/null || true
    rm -f "$pidfile"
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do gone "$pid" && break; sleep 0.05; done
    gone "$pid" || kill -9 "$pid" 2>/dev/null || true
  done
}

# wait_for SECONDS WHAT COMMAND...: run COMMAND until it succeeds.
wait_for() {
  local seconds=$1 what=$2; shift 2
  for _ in $(seq 1 $((seconds * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "redis.sh: $what not ready after ${seconds}s; logs in $dir" >&2
  tail -n 20 "$dir"/*.log >&2 || true
  return 1
}

server_conf() { # NAME PORT [replicaof PORT]
  mkdir -p "$dir/$1"
  cat >"$dir/$1.conf" <<EOF
port $2
bind 127.0.0.1
daemonize yes
pidfile $dir/$1.pid
logfile $dir/$1.log
dir $dir/$1
save ""
appendonly no
requirepass $password
masterauth $password
repl-diskless-sync yes
repl-diskless-sync-delay 0
${3:+replicaof 127.0.0.1 $3}
EOF
}

sentinel_conf() { # NAME PORT  (sentinels rewrite their own file, so it is written fresh each start)
  cat >"$dir/$1.conf" <<EOF
port $2
bind 127.0.0.1
daemonize yes
pidfile $dir/$1.pid
logfile $dir/$1.log
dir $dir
sentinel monitor $master 127.0.0.1 $port 2
sentinel auth-pass $master $password
sentinel down-after-milliseconds $master 1000
sentinel failover-timeout $master 10000
sentinel parallel-syncs $master 1
EOF
}

cli() { redis-cli -h 127.0.0.1 --no-auth-warning "$@"; }
replica_linked() { cli -p "$replica" -a "$password" info replication | grep -q 'master_link_status:up'; }
sentinel_ready() { # knows the replica and both other sentinels
  local state
  state=$(cli -p "$1" sentinel master "$master" | tr '\n' ' ')
  [[ $state == *"num-slaves 1 "* && $state == *"num-other-sentinels 2 "* ]]
}

case "$cmd" in
start)
  mkdir -p "$dir"
  stop
  server_conf master "$port"
  server_conf replica "$replica" "$port"
  redis-server "$dir/master.conf"
  wait_for 20 "master on $port" cli -p "$port" -a "$password" ping
  redis-server "$dir/replica.conf"
  wait_for 20 "replica on $replica" replica_linked
  for i in 0 1 2; do
    sentinel_conf "sentinel$i" "${sentinels[$i]}"
    redis-sentinel "$dir/sentinel$i.conf"
  done
  for s in "${sentinels[@]}"; do wait_for 30 "sentinel on $s" sentinel_ready "$s"; done
  echo "127.0.0.1:${sentinels[0]},127.0.0.1:${sentinels[1]},127.0.0.1:${sentinels[2]}"
  ;;
stop)
  stop
  ;;
*)
  echo "usage: $0 start|stop DIR [PORT]" >&2
  exit 2
  ;;
esac
