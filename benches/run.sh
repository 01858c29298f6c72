#!/usr/bin/env bash
# The scenario benchmarks, end to end: builds the release binaries, runs the
# criterion micro-benchmarks, runs every scenario against Switchboard and the
# floor at the same offered load, and writes benches/RESULTS.md.
#
#   benches/run.sh                 # the full run (25-35 minutes on 2 cores)
#   BENCH_QUICK=1 benches/run.sh   # a smoke pass of the script itself (~5 min);
#                                  # writes benches/out/<run>/RESULTS.md only
#   benches/run.sh --report benches/out/<run>   # rewrite RESULTS.md from a
#                                  # run's reports (no build, no runs)
#
# Raw reports stay in benches/out/<run>/ (gitignored); benches/out/latest
# points at the newest. Settings (environment, defaults in brackets) are
# listed in benches/README.md. Any failed run stops the script (exit 1).
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
PARTS=${BENCH_PARTS:-criterion idle fanout ladder churn inbound cluster assign}
# Cluster mode and the assignment benchmark: the local PostgreSQL server (a
# scratch database per part, dropped after) and a private Redis on this port.
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
REDIS_PORT=${BENCH_REDIS_PORT:-6397}
CLUSTER_PORT=${BENCH_CLUSTER_PORT:-18180}
# CONVERSATIONS:RATE of the cluster's take runs: 1,000 takes/s (the target's
# load), and 250/s, where the box is not saturated.
CLUSTER_TAKES=${BENCH_CLUSTER_TAKES:-50:20 50:5}
PGBENCH_CLIENTS=${BENCH_PGBENCH_CLIENTS:-8 32}
ASSIGN_CONCURRENCY=${BENCH_ASSIGN_CONCURRENCY:-32}

# write_results OUT_DIR RESULTS_FILE: RESULTS.md from the reports in OUT_DIR.
write_results() {
    python3 - "$1" "$2" "$ROOT" <<'PY'
import glob, json, os, re, sys

out, results, root = sys.argv[1], sys.argv[2], sys.argv[3]
meta = json.load(open(os.path.join(out, "meta.json")))
max_steal = float(meta.get("max_steal_pct", 2))
max_other = float(meta.get("max_other_pct", 10))
sustained_share = float(meta.get("sustained_share", 0.95))
elapsed_path = os.path.join(out, "elapsed_secs")
elapsed = int(open(elapsed_path).read()) if os.path.exists(elapsed_path) else None

def load(name):
    path = os.path.join(out, name + ".json")
    return json.load(open(path)) if os.path.exists(path) else None

def reran(name):
    return os.path.exists(os.path.join(out, name + ".noisy.json"))

# --- formatting
def num(v, digits=0):
    return "—" if v is None else f"{v:,.{digits}f}"

def us(v):
    if v is None:
        return "—"
    if v >= 1_000_000:
        return f"{v / 1e6:,.2f} s"
    return f"{v / 1000:,.2f} ms" if v >= 1000 else f"{v:,.0f} µs"

def mib(v):
    return "—" if v is None else f"{v / 1048576:,.1f} MiB"

def ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}×"

def lat(r, name, q):
    h = r["latency_us"].get(name) if r else None
    return h[q] if h else None

def other_pct(r):
    o = r["machine"].get("other_cpu_seconds")
    return None if o is None else 100.0 * o / (r["window_secs"] * max(1, r["steal"]["cores"]))

def noise(r, name, other_counts=True):
    # other_counts=False for runs on Postgres: its CPU is part of "other",
    # so only steal flags them.
    if r is None:
        return "—"
    steal, other = r["steal"].get("percent"), other_pct(r)
    text = f"steal {num(steal, 1)}%, other {num(other, 1)}%"
    noisy = (steal or 0) > max_steal or (other_counts and (other or 0) > max_other)
    if noisy:
        text = "**noisy**: " + text
    if reran(name):
        text += " (rerun: first attempt noisy)"
    return text

def listed(name):
    # The rows of a NAME.list the run wrote, split into words.
    path = os.path.join(out, name + ".list")
    return [line.split() for line in open(path) if line.strip()] if os.path.exists(path) else []

def server(r, key):
    return (r.get("server") or {}).get(key) if r else None

def delivered(r):
    if r is None:
        return "—"
    d = r["deliveries"]
    if d["offered_per_sec"]:
        return f"{num(d['per_sec'])} ({100 * d['per_sec'] / d['offered_per_sec']:.0f}%)"
    return num(d["per_sec"])

# --- one comparison table: rows of (label, value(report) or (sb, fl) raw, show, ratio?)
def table(sb_name, fl_name, rows, sb_head="Switchboard", fl_head="floor"):
    sb, fl = load(sb_name), load(fl_name)
    lines = [f"| | {sb_head} | {fl_head} | Switchboard/floor |", "|---|---:|---:|---:|"]
    for label, get, show, with_ratio in rows:
        a = get(sb) if sb else None
        b = get(fl) if fl else None
        lines.append(f"| {label} | {show(a)} | {show(b)} | {ratio(a, b) if with_ratio else ''} |")
    lines.append(f"| CPU steal / other CPU | {noise(sb, sb_name)} | {noise(fl, fl_name)} | |")
    lines.append(f"| raw report | `{sb_name}.json` | `{fl_name}.json` | |")
    return "\n".join(lines)

def held(r):
    c = r["connections"]
    return f"{c['held']:,} held, {c['failed']:,} failed, {c['dropped']:,} dropped"

def fanout_rows(latency="send_to_delivery", latency_label="send → delivery"):
    return [
        ("offered deliveries/s", lambda r: r["deliveries"]["offered_per_sec"], num, False),
        ("delivered/s (share of offered)", lambda r: r, delivered, False),
        ("deliveries per server CPU-second", lambda r: r["deliveries"]["per_server_cpu_sec"], num, True),
        ("server CPU (% of one core)", lambda r: server(r, "cpu_percent_of_core"), lambda v: num(v, 1), True),
        ("RSS per connection", lambda r: server(r, "rss_per_connection_bytes"), lambda v: "—" if v is None else f"{v:,.0f} B", True),
        (f"latency p50 ({latency_label})", lambda r: lat(r, latency, "p50"), us, True),
        (f"latency p99 ({latency_label})", lambda r: lat(r, latency, "p99"), us, True),
        (f"latency p99.9 ({latency_label})", lambda r: lat(r, latency, "p999"), us, True),
        ("send → ack p50 / p99 (message stored)", lambda r: r, lambda r: "—" if r is None else
            f"{us(lat(r, 'send_to_ack', 'p50'))} / {us(lat(r, 'send_to_ack', 'p99'))}", False),
        ("connections", lambda r: r, lambda r: "—" if r is None else held(r), False),
        ("load generator CPU-seconds", lambda r: r["loadgen"]["cpu_seconds"], lambda v: num(v, 2), False),
    ]

doc = []
add = doc.append

# --- header
commit = meta["commit"]
dirty = meta["dirty_files"]
add("# Scenario benchmark results")
add("")
add("Generated by `benches/run.sh` (see [README.md](README.md)); the tables below are")
add("rewritten by every run, the notes section is carried over.")
add("")
add(f"- **Date:** {meta['date']}" + ("" if elapsed is None else f" (the whole script took {elapsed // 60} min)"))
add(f"- **Commit:** `{commit}` — {meta['subject']}" +
    ("" if dirty == 0 else f" (**working tree not clean: {dirty} changed files**: " +
     ", ".join(f"`{f}`" for f in meta["dirty_sample"]) + (", …" if dirty > len(meta["dirty_sample"]) else "") + ")"))
add(f"- **Machine:** {meta['nproc']} CPUs ({meta['cpu_model']}), "
    f"{meta['memory_bytes'] / 2**30:.1f} GiB memory, Linux {meta['kernel']}; {meta['rustc']}")
add(f"- **Command:** `{meta['command']}`")
add(f"- **Raw reports:** `{os.path.relpath(out, root)}/` (not committed)")
add(f"- **Noise:** a run is flagged noisy when CPU steal exceeds {max_steal:g}% or CPU used by")
add(f"  neither the server nor the generator exceeds {max_other:g}% of the machine during the")
add("  window; a noisy run is repeated once and the repeat is reported.")
add("")

# --- notes (kept across runs)
BEGIN, END = "<!-- notes:begin -->", "<!-- notes:end -->"
notes = "## Notes\n\n_Analysis of these figures goes here (kept when the script rewrites this file)._"
if os.path.exists(results):
    old = open(results).read()
    m = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), old, re.S)
    if m:
        notes = m.group(1)
add(BEGIN)
add(notes)
add(END)
add("")

# --- idle
idle = load("idle-switchboard") or load("idle-floor")
add("## Idle connections")
add("")
if idle:
    p = idle["parameters"]
    add(f"{p['connections']:,} connections opened at {p['ramp_per_sec']:,.0f}/s and held with heartbeats "
        f"for {idle['window_secs']:.0f} s; memory per connection is (RSS after the ramp − RSS before) ÷ held.")
add("")
add(table("idle-switchboard", "idle-floor", [
    ("connections", lambda r: r, lambda r: "—" if r is None else held(r), False),
    ("ramp achieved (connections/s)", lambda r: r["ramp"]["achieved_per_sec"], num, True),
    ("RSS before → after ramp", lambda r: r, lambda r: "—" if r is None else
        f"{mib(server(r, 'rss_before_bytes'))} → {mib(server(r, 'rss_after_bytes'))}", False),
    ("RSS per connection", lambda r: server(r, "rss_per_connection_bytes"), lambda v: "—" if v is None else f"{v:,.0f} B", True),
    ("server CPU while idle (% of one core)", lambda r: server(r, "cpu_percent_of_core"), lambda v: num(v, 1), True),
]))
add("")

# --- fanout at fixed loads
add("## Fan-out")
add("")
add("Per conversation one responder sends 100-byte messages at the given rate; every message")
add("reaches every observer of the conversation. Latency is send → delivery at the observer.")
add("")
for conversations, rate in ((50, 20), (100, 20)):
    name = f"fanout-{conversations}x10x{rate}"
    offered = conversations * 10 * rate
    add(f"### {conversations} conversations × 10 observers × {rate} msg/s ({offered:,} deliveries/s, one conversation per observer connection)")
    add("")
    add(table(f"{name}-switchboard", f"{name}-floor", fanout_rows()))
    add("")

# --- ladder
add("## Fan-out ladder: the highest load the box sustains")
add("")
ladder = [tuple(row) for row in listed("ladder")]
rungs = []
for rung, _, _ in ladder:
    if rung not in rungs:
        rungs.append(rung)
first = load(ladder[0][2]) if ladder else None
if first:
    p = first["parameters"]
    add(f"Observer connections watch {p['watch']} conversations each (10 observers per conversation), "
        f"{p['workers']} generator processes; rungs climb until delivered falls below "
        f"{100 * sustained_share:.0f}% of offered, for each target on its own.")
    add("")
def best(target):
    top = None
    for rung, t, name in ladder:
        r = load(name)
        if t == target and r and r["deliveries"]["per_sec"] >= sustained_share * r["deliveries"]["offered_per_sec"]:
            top = r["deliveries"]["offered_per_sec"]
    return top
add(f"**Highest sustained:** Switchboard {num(best('switchboard'))} deliveries/s, "
    f"floor {num(best('floor'))} deliveries/s.")
add("")
add("| offered/s | conv × rate | target | delivered/s | per server CPU-s | server CPU % | p50 | p99 | send → ack p99 | dropped conns | loadgen CPU-s | steal / other CPU |")
add("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for rung in rungs:
    for target in ("switchboard", "floor"):
        names = [n for r_, t, n in ladder if r_ == rung and t == target]
        if not names:
            continue
        r = load(names[0])
        c, rt = rung.split(":")
        add(f"| {num(r['deliveries']['offered_per_sec'])} | {c} × {rt} | {target} | {delivered(r)} | "
            f"{num(r['deliveries']['per_server_cpu_sec'])} | {num(server(r, 'cpu_percent_of_core'), 1)} | "
            f"{us(lat(r, 'send_to_delivery', 'p50'))} | {us(lat(r, 'send_to_delivery', 'p99'))} | "
            f"{us(lat(r, 'send_to_ack', 'p99'))} | {r['connections']['dropped']} | {num(r['loadgen']['cpu_seconds'], 2)} | {noise(r, names[0])} |")
add("")
add("Switchboard/floor at the rungs both ran:")
add("")
add("| offered/s | deliveries per server CPU-s | RSS per connection | p50 | p99 |")
add("|---:|---:|---:|---:|---:|")
for rung in rungs:
    pair = {t: load(n) for r_, t, n in ladder if r_ == rung}
    sb, fl = pair.get("switchboard"), pair.get("floor")
    if not (sb and fl):
        continue
    add(f"| {num(sb['deliveries']['offered_per_sec'])} | "
        f"{ratio(sb['deliveries']['per_server_cpu_sec'], fl['deliveries']['per_server_cpu_sec'])} | "
        f"{ratio(server(sb, 'rss_per_connection_bytes'), server(fl, 'rss_per_connection_bytes'))} | "
        f"{ratio(lat(sb, 'send_to_delivery', 'p50'), lat(fl, 'send_to_delivery', 'p50'))} | "
        f"{ratio(lat(sb, 'send_to_delivery', 'p99'), lat(fl, 'send_to_delivery', 'p99'))} |")
add("")

# --- churn
churn = load("churn-switchboard")
add("## Churn (take → release loops)")
add("")
if churn:
    p = churn["parameters"]
    o = churn["operations"]
    add(f"{p['conversations']} conversations, {p['observers']} observers and {p['takers']} takers each; "
        f"{o['takes_per_sec']:,.0f} takes granted/s, {o['locked']:,} refused `locked`. Switchboard's latency "
        "is take → the last observer's presence; the floor has no presence, so its column is a fanout to "
        "as many observer connections at the rate of presence events Switchboard delivered "
        "(send → delivery).")
add("")
def churn_lat(q):
    return lambda r: lat(r, "take_to_last_presence", q) if r["scenario"] == "churn" else lat(r, "send_to_delivery", q)
churn_table = [
    ("events delivered/s", lambda r: r["deliveries"]["per_sec"], num, True),
    ("deliveries per server CPU-second", lambda r: r["deliveries"]["per_server_cpu_sec"], num, True),
    ("server CPU (% of one core)", lambda r: server(r, "cpu_percent_of_core"), lambda v: num(v, 1), True),
    ("RSS per connection", lambda r: server(r, "rss_per_connection_bytes"), lambda v: "—" if v is None else f"{v:,.0f} B", True),
    ("latency p50 (take → last presence / send → delivery)", churn_lat("p50"), us, True),
    ("latency p99 (take → last presence / send → delivery)", churn_lat("p99"), us, True),
    ("take → ack p50 / p99", lambda r: r if r["scenario"] == "churn" else None,
        lambda r: "—" if r is None else f"{us(lat(r, 'take_to_ack', 'p50'))} / {us(lat(r, 'take_to_ack', 'p99'))}", False),
    ("connections", lambda r: r, lambda r: "—" if r is None else held(r), False),
]
add(table("churn-switchboard", "churn-floor", churn_table, fl_head="floor (fanout stand-in)"))
add("")

# --- inbound
inbound = load("inbound-switchboard")
add("## Inbound (customer messages over HTTP)")
add("")
if inbound:
    p = inbound["parameters"]
    o = inbound["operations"]
    add(f"`POST /v1/inbound` at {p['rate']:g}/s ({o['posts_per_sec']:,.1f}/s achieved, {o['post_failures']} failed) "
        f"to {p['watchers']} inbox watchers; latency is post → event at each watcher. The floor has no inbound "
        "API: its column is a fanout from one conversation to as many observers at the same event rate.")
add("")
def inbound_lat(q):
    return lambda r: lat(r, "post_to_event", q) if r["scenario"] == "inbound" else lat(r, "send_to_delivery", q)
add(table("inbound-switchboard", "inbound-floor", [
    ("events delivered/s", lambda r: r["deliveries"]["per_sec"], num, True),
    ("deliveries per server CPU-second", lambda r: r["deliveries"]["per_server_cpu_sec"], num, True),
    ("server CPU (% of one core)", lambda r: server(r, "cpu_percent_of_core"), lambda v: num(v, 1), True),
    ("latency p50 (post → event / send → delivery)", inbound_lat("p50"), us, True),
    ("latency p99 (post → event / send → delivery)", inbound_lat("p99"), us, True),
    ("HTTP post round trip p50 / p99", lambda r: r if r["scenario"] == "inbound" else None,
        lambda r: "—" if r is None else f"{us(lat(r, 'post_response', 'p50'))} / {us(lat(r, 'post_response', 'p99'))}", False),
], fl_head="floor (fanout stand-in)"))
add("")

# --- cluster
shapes = [tuple(row) for row in listed("cluster-takes")]
if shapes or load("redis-benchmark"):
    add("## Cluster: three nodes on Postgres and Redis")
    add("")
    add("Three `switchboard serve` processes on one scratch Postgres database and a private Redis, "
        "all on this machine with the generator. With three nodes, takers and responders connect to "
        "node 1 and observers to nodes 2 and 3, so every event an observer gets crossed Redis; the "
        "one-node figure is the same cluster with every connection on node 1. Server CPU is the "
        "nodes' sum. Postgres' CPU is part of \"other CPU\" here (every take, release and send is a "
        "Postgres transaction), so only steal marks these runs noisy.")
    add("")
def busy_pct(r):
    # /proc/stat lags behind on a mostly idle tickless VM (busy can read
    # below what the processes measured used): at least their sum.
    measured = (server(r, "cpu_seconds") or 0) + ((r.get("redis") or {}).get("cpu_seconds") or 0) \
        + r["loadgen"]["cpu_seconds"]
    busy = max(r["machine"].get("busy_cpu_seconds") or 0, measured)
    return 100 * busy / (r["window_secs"] * max(1, r["steal"]["cores"]))

def diff_ms(a, b):
    return "—" if a is None or b is None else f"{(a - b) / 1000:+.2f} ms"
for conversations, rate in shapes:
    c1 = load(f"cluster-churn-{conversations}x{rate}-1node")
    c3 = load(f"cluster-churn-{conversations}x{rate}-3nodes")
    p = (c3 or c1)["parameters"]
    offered = int(conversations) * float(rate)
    add(f"### take → last observer's presence at {offered:,.0f} takes/s ({conversations} conversations × {float(rate):g} takes/s, "
        f"{p['takers']} takers and {p['observers']} observers each)")
    add("")
    add("Matched by the grant's fencing epoch, which every node shows alike in `presence`.")
    add("")
    rows = [
        ("takes granted/s", lambda r: r["operations"]["takes_per_sec"], lambda v: num(v, 0)),
        ("presence events delivered/s", lambda r: r["deliveries"]["per_sec"], num),
        ("take → last presence p50", lambda r: lat(r, "take_to_last_presence", "p50"), us),
        ("take → last presence p99", lambda r: lat(r, "take_to_last_presence", "p99"), us),
        ("take → last presence p99.9", lambda r: lat(r, "take_to_last_presence", "p999"), us),
        ("take → ack p50 / p99", lambda r: r, lambda r: "—" if r is None else
            f"{us(lat(r, 'take_to_ack', 'p50'))} / {us(lat(r, 'take_to_ack', 'p99'))}"),
        ("`locked` refusals", lambda r: r["operations"]["locked"], num),
        ("nodes' CPU (% of one core)", lambda r: server(r, "cpu_percent_of_core"), lambda v: num(v, 1)),
        ("Redis CPU (% of one core)", lambda r: (r.get("redis") or {}).get("cpu_percent_of_core"), lambda v: num(v, 1)),
        ("machine busy (% of both cores)", lambda r: r, lambda r: "—" if r is None else f"{busy_pct(r):.0f}%"),
    ]
    add("| | one node | three nodes |")
    add("|---|---:|---:|")
    for label, get, show in rows:
        add(f"| {label} | {show(get(c1)) if c1 else '—'} | {show(get(c3)) if c3 else '—'} |")
    add(f"| CPU steal / other CPU (Postgres) | {noise(c1, f'cluster-churn-{conversations}x{rate}-1node', other_counts=False)} | "
        f"{noise(c3, f'cluster-churn-{conversations}x{rate}-3nodes', other_counts=False)} |")
    p50 = (lat(c3, "take_to_last_presence", "p50"), lat(c1, "take_to_last_presence", "p50"))
    p99 = (lat(c3, "take_to_last_presence", "p99"), lat(c1, "take_to_last_presence", "p99"))
    add("")
    add(f"Three nodes against one: p50 {diff_ms(*p50)}"
        f" (target at most +1 ms: {'met' if None not in p50 and p50[0] - p50[1] <= 1000 else 'missed'}); "
        f"p99 {ratio(*p99)}"
        f" (target at most 2×: {'met' if None not in p99 and p99[1] and p99[0] <= 2 * p99[1] else 'missed'}).")
    add("")
if shapes or load("redis-benchmark"):
    bench = load("redis-benchmark")
    add("### Cross-node fan-out per Redis CPU-second")
    add("")
    add("100 conversations × 10 messages/s of 100 bytes (1,000 sends/s), observer connections watching "
        "as many conversations as a conversation has observers. "
        + ("" if not bench else
           f"Same run, same Redis: `{bench['command']}` reached **{num(bench['requests_per_sec'])} PUBLISH/s** "
           f"({num(bench['per_redis_cpu_sec'])} per Redis CPU-second)."))
    add("")
    add("| observers per conversation | nodes | delivered/s | deliveries per Redis CPU-s | Redis CPU % | ÷ redis-benchmark PUBLISH/s | nodes' CPU % | send → delivery p50 / p99 | steal |")
    add("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for observers in (10, 50):
        for nodes, name in ((1, f"cluster-fanout-{observers}-1node"), (3, f"cluster-fanout-{observers}-3nodes")):
            r = load(name)
            if not r:
                continue
            redis = r.get("redis") or {}
            per = redis.get("deliveries_per_cpu_sec")
            share = "—" if nodes == 1 or not bench or per is None else f"{per / bench['requests_per_sec']:.2f}×"
            add(f"| {observers} | {nodes} | {num(r['deliveries']['per_sec'])} | {num(per)} | "
                f"{num(redis.get('cpu_percent_of_core'), 1)} | {share} | {num(server(r, 'cpu_percent_of_core'), 1)} | "
                f"{us(lat(r, 'send_to_delivery', 'p50'))} / {us(lat(r, 'send_to_delivery', 'p99'))} | "
                f"{num(r['steal'].get('percent'), 1)}% |")
    add("")
    add("Target: three-node deliveries per Redis CPU-second at least 0.5× redis-benchmark's PUBLISH/s.")
    add("")

# --- assignment
a = load("assign-postgres")
if a:
    add("## Assignment on Postgres beside pgbench")
    add("")
    p = a["parameters"]
    add(f"`POST /v1/inbound` from {p['concurrency']} loops, each posting again when answered, every post a new "
        f"contact, so every post creates a conversation and routes it (least-loaded of {p['agents']} agents online, "
        "each with a console subscribed to the inbox, capacity 1,000,000) in the same transaction; one "
        "Switchboard on a scratch Postgres database. pgbench ran on the same Postgres server right after "
        "(`pgbench -i -s 10`, then `pgbench -b simple-update -j 2 -T <window>`).")
    add("")
    tps = [(int(clients), float(t)) for clients, t in listed("pgbench")]
    best_tps = max((t for _, t in tps), default=None)
    o = a["operations"]
    add("| | figure |")
    add("|---|---:|")
    add(f"| conversations created and assigned/s | {num(o['assigned_per_sec'])} |")
    add(f"| posts/s (failed) | {num(o['posts_per_sec'])} ({o['post_failures']}) |")
    add(f"| post round trip p50 / p99 | {us(lat(a, 'post_response', 'p50'))} / {us(lat(a, 'post_response', 'p99'))} |")
    add(f"| post → agents' `conversation` event p50 / p99 | {us(lat(a, 'post_to_event', 'p50'))} / {us(lat(a, 'post_to_event', 'p99'))} |")
    add(f"| server CPU (% of one core) | {num(server(a, 'cpu_percent_of_core'), 1)} |")
    for clients, t in tps:
        add(f"| pgbench simple-update, {clients} clients (tps) | {num(t)} |")
    add(f"| assigned/s ÷ best pgbench tps | {ratio(o['assigned_per_sec'], best_tps)} |")
    add(f"| CPU steal / other CPU (Postgres) | {noise(a, 'assign-postgres', other_counts=False)} |")
    add("")
    add("Target: at least a third (0.33×) of pgbench's transactions per second.")
    add("")

# --- criterion
add("## Criterion micro-benchmarks")
add("")
add("`cargo bench -p switchboard-benches` with short warm-up and measurement times (see the command);")
add("median time per iteration, and throughput = elements per iteration ÷ median.")
add("")
add("| benchmark | median | throughput |")
add("|---|---:|---:|")
for path in sorted(glob.glob(os.path.join(out, "criterion", "**", "new", "benchmark.json"), recursive=True)):
    bench = json.load(open(path))
    estimates = json.load(open(os.path.join(os.path.dirname(path), "estimates.json")))
    median_ns = estimates["median"]["point_estimate"]
    if median_ns >= 1e6:
        shown = f"{median_ns / 1e6:,.2f} ms"
    elif median_ns >= 1e3:
        shown = f"{median_ns / 1e3:,.2f} µs"
    else:
        shown = f"{median_ns:,.1f} ns"
    throughput = bench.get("throughput") or {}
    elements = throughput.get("Elements") or throughput.get("Bytes")
    unit = "elements/s" if "Elements" in throughput else "bytes/s"
    rate = f"{elements / (median_ns / 1e9):,.0f} {unit}" if elements else "—"
    add(f"| `{bench['full_id']}` | {shown} | {rate} |")
add("")

open(results, "w").write("\n".join(doc))
print(results)
PY
}

case ${1:-} in
"") ;;
--report)
    # Rewrite RESULTS.md from an earlier run's reports (no build, no runs).
    [[ -f ${2:-}/meta.json ]] || { echo "usage: benches/run.sh --report benches/out/<run>" >&2; exit 2; }
    write_results "$(cd "$2" && pwd)" "${BENCH_RESULTS:-$ROOT/benches/RESULTS.md}"
    exit 0
    ;;
*)
    echo "usage: benches/run.sh [--report benches/out/<run>]" >&2
    exit 2
    ;;
esac

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
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

for tool in cargo python3; do
    command -v "$tool" >/dev/null || die "$tool is needed"
done

# --- the run's facts --------------------------------------------------------

export BENCH_META_DATE BENCH_META_COMMAND BENCH_META_COMMIT BENCH_META_SUBJECT BENCH_META_DIRTY \
    BENCH_META_DIRTY_FILES BENCH_META_THRESHOLDS
BENCH_META_THRESHOLDS="$MAX_STEAL_PCT $MAX_OTHER_PCT $SUSTAINED"
BENCH_META_DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
BENCH_META_COMMAND=$COMMAND
BENCH_META_COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
BENCH_META_SUBJECT=$(git log -1 --format=%s 2>/dev/null || echo)
BENCH_META_DIRTY_FILES=$(git status --porcelain 2>/dev/null |
    { grep -v -e ' benches/out/' -e ' benches/RESULTS.md$' || true; } | cut -c4- | head -n 5 | paste -sd ' ' -)
BENCH_META_DIRTY=$(git status --porcelain 2>/dev/null |
    { grep -v -e ' benches/out/' -e ' benches/RESULTS.md$' || true; } | wc -l)
python3 - "$OUT/meta.json" <<'PY'
import json, os, platform, subprocess, sys
def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"
def mem_total():
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None
def out(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
meta = {
    "date": os.environ["BENCH_META_DATE"],
    "command": os.environ["BENCH_META_COMMAND"],
    "commit": os.environ["BENCH_META_COMMIT"],
    "subject": os.environ["BENCH_META_SUBJECT"],
    "dirty_files": int(os.environ["BENCH_META_DIRTY"]),
    "dirty_sample": os.environ["BENCH_META_DIRTY_FILES"].split(),
    "nproc": int(out("nproc") or 0),
    "cpu_model": cpu_model(),
    "memory_bytes": mem_total(),
    "kernel": platform.release(),
    "rustc": out("rustc", "--version"),
}
steal, other, sustained = os.environ["BENCH_META_THRESHOLDS"].split()
meta.update(max_steal_pct=float(steal), max_other_pct=float(other), sustained_share=float(sustained))
json.dump(meta, open(sys.argv[1], "w"), indent=2)
PY
say "results: $RESULTS; raw reports: $OUT"

# --- build ------------------------------------------------------------------

say "building the release binaries"
if ! cargo build --release -p switchboard-server -p switchboard-loadgen -p switchboard-floor \
    >"$OUT/build.log" 2>&1; then
    tail -n 40 "$OUT/build.log" >&2
    die "cargo build failed (log: $OUT/build.log)"
fi
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET_DIR/release
for binary in switchboard switchboard-loadgen switchboard-floor; do
    [[ -x $BIN/$binary ]] || die "$BIN/$binary is missing after the build"
done

# --- helpers ----------------------------------------------------------------

# Percentage of the machine busy (user+nice+system+irq+softirq) over 2 s.
machine_busy_pct() {
    python3 - <<'PY'
import time
def read():
    v = list(map(int, open("/proc/stat").readline().split()[1:9]))
    return v[0] + v[1] + v[2] + v[5] + v[6], sum(v)
b0, t0 = read()
time.sleep(2)
b1, t1 = read()
print(round(100.0 * (b1 - b0) / max(1, t1 - t0), 1))
PY
}

# Waits (up to BENCH_QUIET_WAIT s) until nothing else keeps the machine busy.
wait_quiet() {
    local waited=0 busy
    while true; do
        busy=$(machine_busy_pct)
        if python3 -c "import sys; sys.exit(0 if $busy <= $QUIET_PCT else 1)"; then
            return 0
        fi
        if ((waited >= QUIET_WAIT)); then
            say "  machine still ${busy}% busy after ${waited} s; running anyway (the run will show it)"
            return 0
        fi
        if ((waited % 60 == 0)); then
            say "  machine ${busy}% busy, waiting for quiet; busiest:"
            top -b -n 1 -w 120 | sed -n '8,10p' | awk '{print "      " $1, $9 "%", $12}' |
                tee -a "$OUT/bench.log" >&2
        fi
        sleep 3
        waited=$((waited + 5))
    done
}

# Prints why a report is noisy (empty when clean).
noise_of() {
    python3 - "$1" "$MAX_STEAL_PCT" "${2:-$MAX_OTHER_PCT}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
max_steal, max_other = float(sys.argv[2]), float(sys.argv[3])
why = []
steal = r["steal"].get("percent")
if steal is not None and steal > max_steal:
    why.append(f"steal {steal:.1f}%")
other = r["machine"].get("other_cpu_seconds")
if other is not None:
    pct = 100.0 * other / (r["window_secs"] * max(1, r["steal"]["cores"]))
    if pct > max_other:
        why.append(f"other CPU {pct:.1f}%")
print(", ".join(why))
PY
}

# Fails unless the report shows the run did what it was asked.
check_report() {
    python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
problems = []
if r["connections"]["held"] == 0:
    problems.append("no connection was held")
if r["scenario"] != "idle" and r["deliveries"]["total"] == 0:
    problems.append("nothing was delivered")
if r.get("server") is None or r["server"].get("cpu_seconds") is None:
    problems.append("no server CPU figure")
if problems:
    print("; ".join(problems))
    sys.exit(1)
PY
}

# run_case NAME TARGET SCENARIO [OPTIONS...]: one loadgen run with --json,
# rerun once if it was noisy (the noisy attempt is kept as NAME.noisy.*).
run_case() {
    local name=$1 target=$2
    shift 2
    local spawn max_other=$MAX_OTHER_PCT
    case $target in
    switchboard) spawn=(--spawn "$BIN/switchboard") ;;
    floor) spawn=(--spawn-floor "$BIN/switchboard-floor") ;;
    cluster:1) spawn=("${ONE[@]}") max_other=100 ;;
    cluster:3) spawn=("${THREE[@]}") max_other=100 ;;
    *) die "unknown target $target" ;;
    esac
    # Postgres' work is "other" CPU to the generator: only steal counts there.
    [[ " $* " == *" SWITCHBOARD_DATABASE_URL=postgres"* ]] && max_other=100
    local json=$OUT/$name.json log=$OUT/$name.log attempt noise problem
    for attempt in 1 2; do
        wait_quiet
        say "run $name: $*"
        if ! "$BIN/switchboard-loadgen" "${spawn[@]}" --duration "$DURATION" --warmup "$WARMUP" \
            --settle "$SETTLE" "$@" --json "$json" >"$log" 2>&1; then
            tail -n 40 "$log" >&2
            die "run $name failed (log: $log)"
        fi
        problem=$(check_report "$json") || die "run $name: $problem (log: $log)"
        noise=$(noise_of "$json" "$max_other")
        say "  $(summary "$json")${noise:+ — noisy: $noise}"
        [[ -z $noise ]] && return 0
        if [[ $attempt == 1 ]]; then
            mv "$json" "$OUT/$name.noisy.json"
            mv "$log" "$OUT/$name.noisy.log"
            say "  running $name once more"
        fi
    done
}

summary() {
    python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d, s = r["deliveries"], r["server"]
lat = r["latency_us"]
parts = [f"held {r['connections']['held']}"]
if d["offered_per_sec"]:
    parts.append(f"{d['per_sec']:.0f}/{d['offered_per_sec']:.0f} deliveries/s")
elif d["total"]:
    parts.append(f"{d['per_sec']:.0f} deliveries/s")
if d["per_server_cpu_sec"]:
    parts.append(f"{d['per_server_cpu_sec']:.0f}/CPU-s")
for name in ("send_to_delivery", "take_to_last_presence", "post_to_event"):
    if name in lat:
        parts.append(f"{name} p50 {lat[name]['p50']} µs p99 {lat[name]['p99']} µs")
if s.get("rss_per_connection_bytes") is not None and r["scenario"] == "idle":
    parts.append(f"{s['rss_per_connection_bytes']:.0f} B/connection")
print(", ".join(parts))
PY
}

# A figure from a report: json_get FILE EXPRESSION (Python, `r` is the report).
json_get() {
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"
}

wants() { [[ " $PARTS " == *" $1 "* ]]; }

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
        for target in switchboard floor; do
            run_case "fanout-${conversations}x10x${rate}-$target" "$target" fanout \
                --conversations "$conversations" --observers 10 --rate "$rate" --body-bytes 100
        done
    done
fi

# The ladder: both targets climb together, each stops after the first rung
# it does not sustain (deliveries below BENCH_SUSTAINED of offered).
if wants ladder; then
    climbing="switchboard floor"
    : >"$OUT/ladder.list"
    for rung in $LADDER; do
        conversations=${rung%:*} rate=${rung#*:}
        still=""
        for target in $climbing; do
            name="ladder-${conversations}x10x${rate}-w${LADDER_WATCH}-$target"
            run_case "$name" "$target" fanout --conversations "$conversations" --observers 10 \
                --rate "$rate" --watch "$LADDER_WATCH" --body-bytes 100 --workers "$LADDER_WORKERS"
            echo "$rung $target $name" >>"$OUT/ladder.list"
            sustained=$(json_get "$OUT/$name.json" \
                "int(r['deliveries']['per_sec'] >= $SUSTAINED * r['deliveries']['offered_per_sec'])")
            if [[ $sustained == 1 ]]; then
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
    churn_rate=$(json_get "$OUT/churn-switchboard.json" "round(r['deliveries']['per_sec'] / 50, 1)")
    run_case churn-floor floor fanout --conversations 10 --observers 5 --rate "$churn_rate"
fi

if wants inbound; then
    run_case inbound-switchboard switchboard inbound --rate 50 --watchers 10
    inbound_rate=$(json_get "$OUT/inbound-switchboard.json" "round(r['deliveries']['per_sec'] / 10, 1)")
    run_case inbound-floor floor fanout --conversations 1 --observers 10 --rate "$inbound_rate"
fi

# --- Postgres and Redis -----------------------------------------------------

# Scratch databases, Redis and cluster nodes this run started, for cleanup.
SCRATCH_DBS=()
STARTED_PIDS=()
cleanup() {
    local pid db
    for pid in "${STARTED_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED_PIDS[@]}"; do
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    STARTED_PIDS=()
    for db in "${SCRATCH_DBS[@]}"; do
        psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    SCRATCH_DBS=()
}
trap cleanup EXIT

# scratch_db NAME VAR: a fresh database on the local server, its URL in VAR
# (not printed: a command substitution's subshell would forget to drop it).
scratch_db() {
    local db="sb_bench_$1_${STAMP,,}"
    psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    psql -q "$PG_URL/postgres" -c "CREATE DATABASE $db" >/dev/null ||
        die "cannot create database $db on $PG_URL (is PostgreSQL running?)"
    SCRATCH_DBS+=("$db")
    printf -v "$2" '%s' "$PG_URL/$db"
}

# cpu_ticks PID: utime + stime of a process.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

CLUSTER_NODES=()
CLUSTER_PIDS=()
REDIS_PID=""
CLUSTER_DB=""

# Starts a private Redis and three Switchboard nodes on one scratch database.
cluster_start() {
    command -v redis-server >/dev/null || die "redis-server is needed for the cluster part"
    scratch_db cluster CLUSTER_DB
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
        >"$OUT/redis.log" 2>&1 &
    REDIS_PID=$!
    STARTED_PIDS+=("$REDIS_PID")
    for _ in $(seq 1 50); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || die "redis did not start on :$REDIS_PORT"
    SWITCHBOARD_DATABASE_URL=$CLUSTER_DB "$BIN/switchboard" migrate >"$OUT/migrate.log" 2>&1 ||
        die "migrate failed (log: $OUT/migrate.log)"
    local i port
    for i in 1 2 3; do
        port=$((CLUSTER_PORT + i))
        SWITCHBOARD_LISTEN=127.0.0.1:$port SWITCHBOARD_DATABASE_URL=$CLUSTER_DB \
            SWITCHBOARD_REDIS_URL=redis://127.0.0.1:$REDIS_PORT SWITCHBOARD_LOG_FORMAT=json \
            SWITCHBOARD_RATE_LIMIT_PER_SEC=1000000 SWITCHBOARD_RATE_LIMIT_BURST=1000000 \
            SWITCHBOARD_WS_READ_BUFFER_BYTES=4096 SWITCHBOARD_WS_WRITE_BUFFER_BYTES=4096 \
            "$BIN/switchboard" serve >"$OUT/node$i.log" 2>&1 &
        CLUSTER_PIDS+=("$!")
        STARTED_PIDS+=("$!")
        CLUSTER_NODES+=("http://127.0.0.1:$port")
    done
    for i in 0 1 2; do
        for _ in $(seq 1 100); do
            curl -sf "${CLUSTER_NODES[$i]}/readyz" >/dev/null 2>&1 && break
            sleep 0.1
        done
        curl -sf "${CLUSTER_NODES[$i]}/readyz" >/dev/null ||
            die "node $((i + 1)) is not ready (log: $OUT/node$((i + 1)).log)"
    done
    say "cluster: nodes ${CLUSTER_NODES[*]} (pids ${CLUSTER_PIDS[*]}), redis :$REDIS_PORT (pid $REDIS_PID)"
}

# cluster_target N: the generator's options for the first N nodes.
cluster_target() {
    local i
    for ((i = 0; i < $1; i++)); do
        printf -- '--url\n%s\n--pid\n%s\n' "${CLUSTER_NODES[$i]}" "${CLUSTER_PIDS[$i]}"
    done
    printf -- '--redis-pid\n%s\n--admin-bin\n%s\n--database-url\n%s\n' \
        "$REDIS_PID" "$BIN/switchboard" "$CLUSTER_DB"
}

# redis-benchmark's PUBLISH with pipeline 16 on the same Redis, and the
# Redis CPU it took: the ceiling cross-node deliveries are compared with.
redis_publish_ceiling() {
    command -v redis-benchmark >/dev/null || die "redis-benchmark is needed for the cluster part"
    wait_quiet
    local requests=${BENCH_REDIS_REQUESTS:-2000000} before after started ended out
    say "run redis-benchmark: PUBLISH, pipeline 16, $requests requests, 100-byte payload"
    before=$(cpu_ticks "$REDIS_PID")
    started=$(date +%s.%N)
    out=$(redis-benchmark -p "$REDIS_PORT" -P 16 -n "$requests" -q \
        publish bench:channel "$(printf 'x%.0s' $(seq 1 100))" 2>&1 | tr '\r' '\n' | tail -n 1)
    ended=$(date +%s.%N)
    after=$(cpu_ticks "$REDIS_PID")
    echo "$out" >"$OUT/redis-benchmark.log"
    python3 - "$OUT/redis-benchmark.json" "$out" "$before" "$after" "$started" "$ended" "$requests" <<'PY'
import json, os, re, sys
path, out, before, after, started, ended, requests = sys.argv[1:]
m = re.search(r"([\d.]+) requests per second", out)
if not m:
    sys.exit(f"no figure in redis-benchmark's output: {out!r}")
tck = os.sysconf("SC_CLK_TCK")
cpu = (int(after) - int(before)) / tck
json.dump({
    "command": "redis-benchmark -P 16 -n %s -q publish bench:channel <100 bytes>" % requests,
    "requests": int(requests),
    "requests_per_sec": float(m.group(1)),
    "wall_seconds": float(ended) - float(started),
    "redis_cpu_seconds": cpu,
    "per_redis_cpu_sec": int(requests) / cpu if cpu > 0 else None,
}, open(path, "w"), indent=2)
PY
    say "  $(json_get "$OUT/redis-benchmark.json" "f\"{r['requests_per_sec']:,.0f} requests/s, {r['per_redis_cpu_sec'] or 0:,.0f} per Redis CPU-second\"")"
}

if wants cluster; then
    cluster_start
    mapfile -t ONE < <(cluster_target 1)
    mapfile -t THREE < <(cluster_target 3)
    # Postgres works for every take and send: its CPU is "other" here, so
    # only steal marks these runs noisy.
    : >"$OUT/cluster-takes.list"
    for shape in $CLUSTER_TAKES; do
        conversations=${shape%:*} rate=${shape#*:}
        for nodes in 1 3; do
            name="cluster-churn-${conversations}x${rate}-${nodes}node$([[ $nodes == 1 ]] || echo s)"
            run_case "$name" "cluster:$nodes" churn --conversations "$conversations" \
                --observers 5 --takers 2 --rate "$rate"
        done
        echo "$conversations $rate" >>"$OUT/cluster-takes.list"
    done
    for observers in 10 50; do
        for nodes in 1 3; do
            run_case "cluster-fanout-${observers}-${nodes}node$([[ $nodes == 1 ]] || echo s)" \
                "cluster:$nodes" fanout --conversations 100 --observers "$observers" --rate 10 \
                --watch "$observers" --body-bytes 100
        done
    done
    redis_publish_ceiling
    cleanup
fi

# --- assignment on Postgres beside pgbench ----------------------------------

if wants assign; then
    scratch_db assign assign_db
    run_case assign-postgres "switchboard" inbound --concurrency "$ASSIGN_CONCURRENCY" \
        --new-contact-ratio 1 --agents 10 --watchers 0 \
        --server-env "SWITCHBOARD_DATABASE_URL=$assign_db"
    scratch_db pgbench pgbench_db
    command -v pgbench >/dev/null || die "pgbench is needed for the assign part"
    pgbench -i -s 10 -q "$pgbench_db" >"$OUT/pgbench-init.log" 2>&1 ||
        die "pgbench -i failed (log: $OUT/pgbench-init.log)"
    : >"$OUT/pgbench.list"
    for clients in $PGBENCH_CLIENTS; do
        wait_quiet
        say "run pgbench simple-update: $clients clients, ${DURATION} s"
        pgbench -b simple-update -c "$clients" -j 2 -T "$DURATION" "$pgbench_db" \
            >"$OUT/pgbench-c$clients.log" 2>&1 || die "pgbench failed (log: $OUT/pgbench-c$clients.log)"
        tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$OUT/pgbench-c$clients.log")
        [[ -n $tps ]] || die "no tps in $OUT/pgbench-c$clients.log"
        echo "$clients $tps" >>"$OUT/pgbench.list"
        say "  $tps transactions/s"
    done
    cleanup
fi

# --- RESULTS.md -------------------------------------------------------------

echo $(($(date +%s) - STARTED)) >"$OUT/elapsed_secs"
write_results "$OUT" "$RESULTS"
say "done in $(($(date +%s) - STARTED)) s: $RESULTS"
