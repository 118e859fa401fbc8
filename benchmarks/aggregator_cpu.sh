#!/usr/bin/env bash
# What the aggregator program's background reader costs between scrapes: CPU per read of
# a fleet of 10,000 hosts that does not change (hosts write every 10 s; reads follow each
# other 0.1 s apart). Each given aggregator binary runs in turn, alternating over the
# rounds, against one redis-server filled by benchmarks/fleet_fill, with one scrape a second
# (format=prometheus; with ALL=1 also both JSON versions and OpenMetrics). Reads are counted
# from Redis's MGET calls (10 batches of 1000 keys a read), CPU from /proc. Compare two
# builds (e.g. this tree's and an older one's) in the same run: the figures move with the
# machine's load.
# usage: benchmarks/aggregator_cpu.sh BUILD_DIR SECONDS ROUNDS AGGREGATOR...
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 BUILD_DIR SECONDS ROUNDS AGGREGATOR..." >&2; exit 2; }
build=$1 window=$2 rounds=$3
shift 3
fleet_fill=$build/benchmarks/fleet_fill
ninja -C "$build" benchmarks/fleet_fill >&2
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no > "$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping > /dev/null 2>&1 && break; sleep 0.1; done
"$fleet_fill" "redis://127.0.0.1:$redis_port" 10000 > /dev/null

mget_calls() { redis-cli -p "$redis_port" info commandstats | sed -n 's/^cmdstat_mget:calls=\([0-9]*\),.*/\1/p'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
queries=("v1?format=prometheus")
[ -z "${ALL:-}" ] || queries+=("v1?format=json" "v2?format=json" "v1?format=openmetrics")
scrape() { for q in "${queries[@]}"; do curl -s -o /dev/null "http://127.0.0.1:$1/metrics/$q"; done; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); ${window} s per run; scraped: ${queries[*]}"
printf '| aggregator | reads | CPU s | CPU ms per read |\n|---|---:|---:|---:|\n'
for ((r = 0; r < rounds; r++)); do
  for bin in "$@"; do
    "$bin" --listen 127.0.0.1:0 --redis "redis://127.0.0.1:$redis_port" > "$tmp/out" 2>&1 &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 100); do grep -q '^listening on' "$tmp/out" && break; sleep 0.1; done
    port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/out" | head -1)
    [ -n "$port" ] || { echo "$bin did not start" >&2; cat "$tmp/out" >&2; exit 1; }
    # The first answer comes once a read completed; every kind is asked for before timing.
    until curl -sf -o /dev/null "http://127.0.0.1:$port/metrics/v1?format=prometheus"; do sleep 0.2; done
    scrape "$port"
    sleep 1
    t0=$(cpu_ticks "$pid")
    m0=$(mget_calls)
    end=$((SECONDS + window))
    while [ "$SECONDS" -lt "$end" ]; do
      scrape "$port"
      sleep 1
    done
    t1=$(cpu_ticks "$pid")
    m1=$(mget_calls)
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    python3 - "$bin" "$t0" "$t1" "$m0" "$m1" "$(getconf CLK_TCK)" <<'EOF'
import sys
name, t0, t1, m0, m1, hz = sys.argv[1], *map(int, sys.argv[2:])
reads = (m1 - m0) // 10
cpu = (t1 - t0) / hz
print(f"| {name} | {reads} | {cpu:.2f} | {cpu * 1000 / max(reads, 1):.1f} |")
EOF
  done
done
