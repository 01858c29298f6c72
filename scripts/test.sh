#!/usr/bin/env bash
# The whole test suite, on a fresh machine or this one:
#   1. make sure PostgreSQL and Redis answer on 127.0.0.1 (installing them with
#      apt-get when missing, starting them when stopped), and that Python has
#      aiosmtpd (the SMTP server of the invitation tests);
#   2. the web side first, since the server embeds the console: the console's
#      committed build (console/dist) must be what its sources build to
#      (Node.js and npm, installed with apt-get when missing); the TypeScript
#      client's frame types must be what proto/schema generates, and its
#      unit tests pass;
#   3. formatting and lints (cargo fmt --check, clippy -D warnings);
#   4. every test of the workspace: unit, proptest models, store and bus
#      contract suites on every backend, black-box tests on real processes,
#      the fuzz targets (their corpus, then 15 s of random inputs each); then
#      the hub's shared structures under the shuttle model checker;
#   5. the TypeScript client against real server processes (its integration
#      tests), and the console in a real Chromium (Debian's package, installed
#      when missing) driven by Playwright, against real server processes.
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

ensure_node() {
    # The console and the TypeScript client build and test with Node.js 20
    # or later (their lockfiles pin every tool).
    if command -v npm >/dev/null 2>&1; then return 0; fi
    apt_install nodejs npm
}

# Fails when a path differs from what is committed, or holds files that are not.
unchanged() { # what, paths...
    local what=$1; shift
    if ! git diff --quiet -- "$@" || [ -n "$(git ls-files --others --exclude-standard -- "$@")" ]; then
        git status --short -- "$@" >&2
        echo "$what: the committed files differ from what their sources build; rebuild and commit them" >&2
        return 1
    fi
}

ensure_postgres
ensure_redis
ensure_aiosmtpd
ensure_node
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

say "console: the committed build matches its sources"
(cd console && npm ci --no-audit --no-fund && npm run build)
unchanged "console/dist" console/dist

say "TypeScript client: generated frames, types, unit tests"
(cd clients/typescript && npm ci --no-audit --no-fund && npm run check-generated &&
    npm run typecheck && npm test)

say "cargo fmt --check"
cargo fmt --all --check

say "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p switchboard-server --features shuttle --lib --tests --locked -- -D warnings

say "cargo test"
cargo test --workspace --locked

# The hub's shared structures under the shuttle model checker: their own
# build of the server (docs in crates/server/src/hub/interleavings.rs).
say "concurrency checks (shuttle)"
cargo test -p switchboard-server --features shuttle --locked --lib interleavings

# The binary the black-box tests ran (built by cargo test above).
export SWITCHBOARD_BIN="$PWD/target/debug/switchboard"

say "TypeScript client against the server"
(cd clients/typescript && npm run test:integration)

say "console in Chromium"
./tests/browser/run.sh
