#!/usr/bin/env bash
# A local three-node cluster on loopback, against the local PostgreSQL and Redis.
#
#   scripts/cluster.sh start   build, create the database, start nodes on :8081 :8082 :8083
#   scripts/cluster.sh stop    stop them (SIGTERM: sessions closed with 1001, roles released)
#   scripts/cluster.sh status  which nodes run, and their /readyz
#
# Settings (environment): SWITCHBOARD_CLUSTER_DATABASE (default
# postgres://postgres@127.0.0.1:5432/switchboard_cluster), SWITCHBOARD_REDIS_URL
# (default redis://127.0.0.1:6379), SWITCHBOARD_CLUSTER_NODES (default 3),
# SWITCHBOARD_CLUSTER_DIR (default ./cluster: logs and pids).
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE="${SWITCHBOARD_CLUSTER_DATABASE:-postgres://postgres@127.0.0.1:5432/switchboard_cluster}"
REDIS="${SWITCHBOARD_REDIS_URL:-redis://127.0.0.1:6379}"
NODES="${SWITCHBOARD_CLUSTER_NODES:-3}"
DIR="${SWITCHBOARD_CLUSTER_DIR:-./cluster}"
BIN=./target/release/switchboard

start() {
    cargo build --release --bin switchboard
    mkdir -p "$DIR"
    local server="${DATABASE%/*}/postgres" name="${DATABASE##*/}"
    if ! psql "$DATABASE" -c 'select 1' >/dev/null 2>&1; then
        psql "$server" -q -c "CREATE DATABASE $name"
    fi
    SWITCHBOARD_DATABASE_URL="$DATABASE" "$BIN" migrate
    # the nodes share the key that seals two-factor secrets
    if [ ! -f "$DIR/secret-key" ]; then
        (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$DIR/secret-key")
    fi
    for i in $(seq 1 "$NODES"); do
        local port=$((8080 + i))
        if [ -f "$DIR/node$i.pid" ] && kill -0 "$(cat "$DIR/node$i.pid")" 2>/dev/null; then
            echo "node $i already runs (pid $(cat "$DIR/node$i.pid"))"
            continue
        fi
        SWITCHBOARD_LISTEN="127.0.0.1:$port" \
        SWITCHBOARD_DATABASE_URL="$DATABASE" \
        SWITCHBOARD_REDIS_URL="$REDIS" \
        SWITCHBOARD_SECRET_KEY="${SWITCHBOARD_SECRET_KEY:-$(cat "$DIR/secret-key")}" \
            "$BIN" serve >"$DIR/node$i.log" 2>&1 &
        echo $! >"$DIR/node$i.pid"
        echo "node $i: http://127.0.0.1:$port (pid $!, log $DIR/node$i.log)"
    done
    for i in $(seq 1 "$NODES"); do
        local port=$((8080 + i))
        for _ in $(seq 1 50); do
            curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
            sleep 0.2
        done
    done
    status
}

stop() {
    for pidfile in "$DIR"/node*.pid; do
        [ -f "$pidfile" ] || continue
        local pid
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        fi
        rm -f "$pidfile"
    done
    echo "stopped"
}

status() {
    for i in $(seq 1 "$NODES"); do
        local port=$((8080 + i))
        printf 'node %s :%s  ' "$i" "$port"
        curl -s "http://127.0.0.1:$port/readyz" || printf 'not running'
        echo
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
