#!/usr/bin/env bash
# The scenario benchmarks, end to end: builds the release binaries, runs the
# criterion micro-benchmarks, runs every scenario against Switchboard and the
# floor (and the fan-outs against the Socket.IO peer too) at the same offered
# load, and writes benches/RESULTS.md.
#
#   benches/run.sh                 # the full run (45-55 minutes on 2 cores)
#   BENCH_QUICK=1 benches/run.sh   # a smoke pass of the script itself (~5 min);
#                                  # writes benches/out/<run>/RESULTS.md only
#   benches/run.sh --report benches/out/<run>   # rewrite RESULTS.md from a
#                                  # run's reports (no runs)
#
# This script is the plan: which parts run, which scenarios with which
# options, in which order. The work is done by `switchboard-loadgen bench`
# (crates/loadgen/src/bench): the run's meta.json, one case with its checks
# and noise rerun, the parts with their own Postgres, Redis and cluster, and
# RESULTS.md. Raw reports stay in benches/out/<run>/ (gitignored);
# benches/out/latest points at the newest. Settings (environment, defaults in
# brackets) are listed in benches/README.md. Any failed run stops the script
# (exit 1).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
COMMAND="benches/run.sh${*:+ $*}"
for var in $(compgen -v BENCH_ || true); do
    COMMAND="$var=${!var} $COMMAND"
done

QUICK=${BENCH_QUICK:-0}
if [[ $QUICK == 1 ]]; then
    q() { echo "$1"; }
else
    q() { echo "$2"; }
fi
DURATION=${BENCH_DURATION:-$(q 2 10)}
WARMUP=${BENCH_WARMUP:-$(q 1 3)}
SETTLE=${BENCH_SETTLE:-$(q 1 3)}
IDLE_CONNECTIONS=${BENCH_IDLE_CONNECTIONS:-$(q 2000 19000)}
IDLE_RAMP=${BENCH_IDLE_RAMP:-1000}
# Ladder rungs CONVERSATIONS:RATE, 10 observers each: offered = C × R × 10.
# Rates stay below Switchboard's 100 client frames/s per connection.
LADDER=${BENCH_LADDER:-$(q "100:20 100:80" "100:20 100:40 100:80 200:60 200:80 300:80 400:80")}
LADDER_WATCH=${BENCH_LADDER_WATCH:-10}
LADDER_WORKERS=${BENCH_LADDER_WORKERS:-2}
SUSTAINED=${BENCH_SUSTAINED:-0.95}
CRITERION_WARMUP=${BENCH_CRITERION_WARMUP:-$(q 0.5 1)}
CRITERION_SECS=${BENCH_CRITERION_SECS:-$(q 0.5 3)}
MAX_STEAL_PCT=${BENCH_MAX_STEAL_PCT:-2}
MAX_OTHER_PCT=${BENCH_MAX_OTHER_PCT:-10}
QUIET_PCT=${BENCH_QUIET_PCT:-15}
QUIET_WAIT=${BENCH_QUIET_WAIT:-600}
# Which parts run (all by default).
PARTS=${BENCH_PARTS:-criterion idle fanout ladder churn inbound flood cluster assign scale}
wants() { [[ " $PARTS " == *" $1 "* ]]; }
# The flood part: runs of each kind (with and without), flooder connections.
FLOOD_RUNS=${BENCH_FLOOD_RUNS:-$(q 1 3)}
FLOODERS=${BENCH_FLOODERS:-4}
# Cluster mode and the assignment benchmark: the local PostgreSQL server (a
# scratch database per part, dropped after) and a private Redis on this port.
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
REDIS_PORT=${BENCH_REDIS_PORT:-6397}
CLUSTER_PORT=${BENCH_CLUSTER_PORT:-18180}
# CONVERSATIONS:RATE of the cluster's take runs: 1,000 takes/s (the target's
# load), and 250/s, where the box is not saturated.
CLUSTER_TAKES=${BENCH_CLUSTER_TAKES:-50:20 50:5}
REDIS_REQUESTS=${BENCH_REDIS_REQUESTS:-2000000}
PGBENCH_CLIENTS=${BENCH_PGBENCH_CLIENTS:-8 32}
ASSIGN_CONCURRENCY=${BENCH_ASSIGN_CONCURRENCY:-32}
# The scale part: nodes (on the ports after BENCH_SCALE_PORT, with their own
# Redis), agent connections, members per conversation, the operators and
# viewers they are spread over, and the connections opened per second.
SCALE_NODES=${BENCH_SCALE_NODES:-$(q 3 11)}
SCALE_CONNECTIONS=${BENCH_SCALE_CONNECTIONS:-$(q 3000 200000)}
SCALE_MEMBERS=${BENCH_SCALE_MEMBERS:-$(q 3 10)}
SCALE_OPERATORS=${BENCH_SCALE_OPERATORS:-$(q 20 500)}
SCALE_VIEWERS=${BENCH_SCALE_VIEWERS:-$(q 20 500)}
SCALE_RAMP=${BENCH_SCALE_RAMP:-1000}
SCALE_REDIS_PORT=${BENCH_SCALE_REDIS_PORT:-6398}
SCALE_PORT=${BENCH_SCALE_PORT:-18200}

command -v cargo >/dev/null || { echo "cargo is needed" >&2; exit 1; }
TARGET_DIR=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}
BIN=$TARGET_DIR/release
bench() { "$BIN/switchboard-loadgen" bench "$@"; }

case ${1:-} in
"") ;;
--report)
    # Rewrite RESULTS.md from an earlier run's reports (no runs).
    [[ -f ${2:-}/meta.json ]] || { echo "usage: benches/run.sh --report benches/out/<run>" >&2; exit 2; }
    cargo build --release -q -p switchboard-loadgen
    bench results "$(cd "$2" && pwd)" --root "$ROOT" --results "${BENCH_RESULTS:-$ROOT/benches/RESULTS.md}"
    exit 0
    ;;
*)
    echo "usage: benches/run.sh [--report benches/out/<run>]" >&2
    exit 2
    ;;
esac

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
OUT=$ROOT/benches/out/$STAMP
if [[ $QUICK == 1 ]]; then
    RESULTS=${BENCH_RESULTS:-$OUT/RESULTS.md}
else
    RESULTS=${BENCH_RESULTS:-$ROOT/benches/RESULTS.md}
fi
mkdir -p "$OUT"
ln -sfn "$STAMP" "$ROOT/benches/out/latest"
STARTED=$(date +%s)

say() { echo "[bench $(date -u +%H:%M:%S)] $*" | tee -a "$OUT/bench.log" >&2; }
die() {
    say "FAILED: $*"
    exit 1
}
trap 'say "FAILED at line $LINENO (exit $?)"' ERR

say "results: $RESULTS; raw reports: $OUT"
say "building the release binaries"
if ! cargo build --release -p switchboard-server -p switchboard-loadgen -p switchboard-floor \
    >"$OUT/build.log" 2>&1; then
    tail -n 40 "$OUT/build.log" >&2
    die "cargo build failed (log: $OUT/build.log)"
fi
for binary in switchboard switchboard-loadgen switchboard-floor; do
    [[ -x $BIN/$binary ]] || die "$BIN/$binary is missing after the build"
done
# The Socket.IO peer of the fan-outs: Node.js and its lockfile's packages.
SOCKETIO=$ROOT/benches/socketio/server.mjs
if wants fanout || wants ladder; then
    command -v node >/dev/null || die "node (Node.js 20 or later) is needed for the Socket.IO peer"
    say "installing the Socket.IO peer's packages"
    (cd "$ROOT/benches/socketio" && npm ci --no-audit --no-fund >"$OUT/socketio-npm.log" 2>&1) ||
        die "npm ci failed in benches/socketio (log: $OUT/socketio-npm.log)"
fi
bench meta --meta "$OUT/meta.json" --root "$ROOT" --command "$COMMAND" --date "$DATE" \
    --max-steal-pct "$MAX_STEAL_PCT" --max-other-pct "$MAX_OTHER_PCT" --sustained "$SUSTAINED"

# What every case and part shares: where reports go, the window, when a run
# is noisy, how quiet the machine must be before one.
RUN=(--out "$OUT" --duration "$DURATION" --warmup "$WARMUP" --settle "$SETTLE"
    --max-steal-pct "$MAX_STEAL_PCT" --max-other-pct "$MAX_OTHER_PCT"
    --quiet-pct "$QUIET_PCT" --quiet-wait "$QUIET_WAIT")

# run_case NAME TARGET SCENARIO [OPTIONS...]: one generator run against a
# fresh Switchboard or floor, checked, rerun once if it was noisy.
run_case() {
    local name=$1 target=$2
    shift 2
    local spawn
    case $target in
    switchboard) spawn=(--spawn "$BIN/switchboard") ;;
    floor) spawn=(--spawn-floor "$BIN/switchboard-floor") ;;
    socketio) spawn=(--spawn-socketio "$SOCKETIO") ;;
    *) die "unknown target $target" ;;
    esac
    bench case --name "$name" "${RUN[@]}" -- "${spawn[@]}" "$@"
}


# --- criterion --------------------------------------------------------------

if wants criterion; then
    say "criterion benches (warm-up ${CRITERION_WARMUP} s, measurement ${CRITERION_SECS} s each)"
    if ! CRITERION_HOME=$OUT/criterion cargo bench -p switchboard-benches -- \
        --warm-up-time "$CRITERION_WARMUP" --measurement-time "$CRITERION_SECS" --noplot \
        >"$OUT/criterion.log" 2>&1; then
        tail -n 40 "$OUT/criterion.log" >&2
        die "cargo bench failed (log: $OUT/criterion.log)"
    fi
fi

# --- scenarios --------------------------------------------------------------

if wants idle; then
    for target in switchboard floor; do
        run_case "idle-$target" "$target" idle --connections "$IDLE_CONNECTIONS" \
            --ramp-per-sec "$IDLE_RAMP"
    done
fi

if wants fanout; then
    for shape in 50:20 100:20; do
        conversations=${shape%:*} rate=${shape#*:}
        for target in switchboard floor socketio; do
            run_case "fanout-${conversations}x10x${rate}-$target" "$target" fanout \
                --conversations "$conversations" --observers 10 --rate "$rate" --body-bytes 100
        done
    done
fi

# The ladder: both targets climb together, each stops after the first rung
# it does not sustain (deliveries below BENCH_SUSTAINED of offered).
if wants ladder; then
    climbing="switchboard floor socketio"
    : >"$OUT/ladder.list"
    for rung in $LADDER; do
        conversations=${rung%:*} rate=${rung#*:}
        still=""
        for target in $climbing; do
            name="ladder-${conversations}x10x${rate}-w${LADDER_WATCH}-$target"
            run_case "$name" "$target" fanout --conversations "$conversations" --observers 10 \
                --rate "$rate" --watch "$LADDER_WATCH" --body-bytes 100 --workers "$LADDER_WORKERS"
            echo "$rung $target $name" >>"$OUT/ladder.list"
            sustained=$(bench sustained "$OUT/$name.json" --share "$SUSTAINED")
            if [[ $sustained == true ]]; then
                still="$still $target"
            else
                say "  $target does not sustain $rung: it stops climbing"
            fi
        done
        climbing=$still
        [[ -n $climbing ]] || break
    done
fi

# Churn and inbound are Switchboard's alone; the floor's stand-in is a fanout
# to as many observer connections at the rate of events Switchboard delivered.
if wants churn; then
    run_case churn-switchboard switchboard churn --conversations 10 --observers 5 --takers 3
    churn_rate=$(bench event-rate "$OUT/churn-switchboard.json" --connections 50)
    run_case churn-floor floor fanout --conversations 10 --observers 5 --rate "$churn_rate"
fi

if wants inbound; then
    run_case inbound-switchboard switchboard inbound --rate 50 --watchers 10
    inbound_rate=$(bench event-rate "$OUT/inbound-switchboard.json" --connections 10)
    run_case inbound-floor floor fanout --conversations 1 --observers 10 --rate "$inbound_rate"
fi

# A malformed-frame flood beside a fanout: without and with flooders in
# turn, the server's own rate limit on (the generator lifts it otherwise).
if wants flood; then
    for run in $(seq "$FLOOD_RUNS"); do
        for arm in without:0 "with:$FLOODERS"; do
            run_case "flood-$run-${arm%:*}" switchboard fanout \
                --conversations 50 --observers 10 --rate 20 --flooders "${arm#*:}" \
                --server-env SWITCHBOARD_RATE_LIMIT_PER_SEC=100 --server-env SWITCHBOARD_RATE_LIMIT_BURST=200
        done
    done
fi

# --- Postgres and Redis -----------------------------------------------------
# Each part makes its scratch databases (and the cluster its Redis and three
# nodes on the ports after BENCH_CLUSTER_PORT) and removes them when it ends.

if wants cluster; then
    bench cluster "${RUN[@]}" --switchboard "$BIN/switchboard" --postgres "$PG_URL/postgres" \
        --redis-port "$REDIS_PORT" --cluster-port "$CLUSTER_PORT" --takes "$CLUSTER_TAKES" \
        --redis-requests "$REDIS_REQUESTS"
fi

if wants assign; then
    bench assign "${RUN[@]}" --switchboard "$BIN/switchboard" --postgres "$PG_URL/postgres" \
        --concurrency "$ASSIGN_CONCURRENCY" --pgbench-clients "$PGBENCH_CLIENTS"
fi

# The scale part: a cluster holding many agent connections (each node and
# each generator process under 20,000 open files), presence checked on
# sampled conversations, memory per connection per node, then the last
# node killed with SIGKILL and the cleanup timed from every other view.
if wants scale; then
    bench scale "${RUN[@]}" --switchboard "$BIN/switchboard" --postgres "$PG_URL/postgres" \
        --redis-port "$SCALE_REDIS_PORT" --cluster-port "$SCALE_PORT" --nodes "$SCALE_NODES" \
        --connections "$SCALE_CONNECTIONS" --members "$SCALE_MEMBERS" \
        --operators "$SCALE_OPERATORS" --viewers "$SCALE_VIEWERS" --ramp-per-sec "$SCALE_RAMP"
fi

# --- RESULTS.md -------------------------------------------------------------

echo $(($(date +%s) - STARTED)) >"$OUT/elapsed_secs"
bench results "$OUT" --root "$ROOT" --results "$RESULTS"
say "done in $(($(date +%s) - STARTED)) s: $RESULTS"
