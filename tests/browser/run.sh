#!/usr/bin/env bash
# The browser suite: the console in Chromium against real switchboard processes.
#   tests/browser/run.sh [path/to/switchboard] [playwright args...]
# The binary defaults to SWITCHBOARD_BIN, else target/debug/switchboard of this checkout.
# Chromium is the system's (/usr/bin/chromium, or CHROMIUM): installed with apt-get when missing;
# Playwright never downloads a browser.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

# The binary, made absolute from where run.sh was called, before moving to tests/browser.
binary="${1:-${SWITCHBOARD_BIN:-$here/../../target/debug/switchboard}}"
[ $# -gt 0 ] && shift
binary="$(cd "$(dirname "$binary")" 2>/dev/null && pwd)/$(basename "$binary")"
cd "$here"
if [ ! -x "$binary" ]; then
    echo "no switchboard binary at $binary (cargo build --bin switchboard first)" >&2
    exit 1
fi

export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
    echo "== installing chromium" >&2
    as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    CHROMIUM=/usr/bin/chromium
fi

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm ci --no-audit --no-fund >/dev/null
SWITCHBOARD_BIN="$binary" npx playwright test "$@"
