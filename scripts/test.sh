#!/usr/bin/env bash
# The whole test suite, on a fresh machine or this one:
#   1. make sure PostgreSQL and Redis answer on 127.0.0.1 (installing them with
#      apt-get when missing, starting them when stopped), and that Python has
#      aiosmtpd (the SMTP server of the invitation tests);
#   2. formatting and lints (cargo fmt --check, clippy -D warnings);
#   3. every test of the workspace: unit, proptest models, store and bus
#      contract suites on every backend, black-box tests on real processes.
#
# Settings (environment):
#   SWITCHBOARD_TEST_POSTGRES_URL  the Postgres server tests create databases on
#                                  (default postgres://postgres@127.0.0.1:5432/test)
#   SWITCHBOARD_TEST_REDIS_URL     the Redis tests use (default redis://127.0.0.1:6379)
set -euo pipefail
cd "$(dirname "$0")/.."

export SWITCHBOARD_TEST_POSTGRES_URL="${SWITCHBOARD_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export SWITCHBOARD_TEST_REDIS_URL="${SWITCHBOARD_TEST_REDIS_URL:-redis://127.0.0.1:6379}"

say() { printf '\n== %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    say "installing $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_for() { # description, command...
    local what=$1; shift
    for _ in $(seq 1 60); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    echo "$what did not come up" >&2
    return 1
}

ensure_postgres() {
    if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
    local fresh=0
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        apt_install postgresql
        fresh=1
    fi
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    say "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for "PostgreSQL" pg_isready -h 127.0.0.1 -p 5432
    if [ "$fresh" = 1 ]; then
        # A test machine: trust loopback connections, as the tests expect.
        local hba="/etc/postgresql/$version/main/pg_hba.conf"
        as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    fi
    if ! psql "$SWITCHBOARD_TEST_POSTGRES_URL" -c 'select 1' >/dev/null 2>&1; then
        as_root su postgres -c "createdb test" 2>/dev/null || true
    fi
    psql "$SWITCHBOARD_TEST_POSTGRES_URL" -c 'select 1' >/dev/null
}

ensure_redis() {
    if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then return 0; fi
    if ! command -v redis-server >/dev/null 2>&1; then
        apt_install redis-server
    fi
    say "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    wait_for "Redis" sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG'
}

ensure_aiosmtpd() {
    # The invitation tests talk to a real SMTP server: Python's aiosmtpd.
    local python
    for python in python3 /usr/bin/python3; do
        if "$python" -c 'import aiosmtpd' >/dev/null 2>&1; then return 0; fi
    done
    apt_install python3-aiosmtpd || true
    if /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then return 0; fi
    say "installing aiosmtpd with pip"
    python3 -m pip install --quiet aiosmtpd
    python3 -c 'import aiosmtpd'
}

ensure_postgres
ensure_redis
ensure_aiosmtpd

say "cargo fmt --check"
cargo fmt --all --check

say "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

say "cargo test"
cargo test --workspace --locked
