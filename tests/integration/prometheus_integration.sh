#!/bin/bash
# A real Prometheus scrapes both programs: starts `anklet-metrics-exporter --demo` on
# 127.0.0.1 with port 0, exporting to a redis-server of ours that the aggregator reads, and
# Debian's `prometheus` on a free loopback port with a 1 s scrape of each one's
# /metrics/v1?format=prometheus, waits (bounded) for scrapes, then checks through
# Prometheus's HTTP API that `up` is 1 and that a demo handler's plugin_status and
# plugin_total_ran_vms series carry the expected labels, and that the fleet's hosts were
# stored. The live output must also pass `promtool check metrics` with no remark beyond
# SPEC 5's two naming lints. Each scrape goes through a relay that logs what was said
# (tests/support/recording_proxy.py): Prometheus asks for gzip, and with `gzip` (programs
# built with zlib) every answer came compressed; with `nogzip` none did.
# Usage: prometheus_integration.sh EXPORTER AGGREGATOR gzip|nogzip [PROMETHEUS PROMTOOL]
set -euo pipefail
exporter=${1:?exporter path}
aggregator=${2:?aggregator path}
gzip=${3:?gzip or nogzip}
prometheus=${4:-$(command -v prometheus || true)}
promtool=${5:-$(command -v promtool || true)}
for tool in "$prometheus" "$promtool"; do
  if [ -z "$tool" ] || [ ! -x "$tool" ]; then
    echo "FAIL: prometheus/promtool not found (Debian package 'prometheus')" >&2
    exit 1
  fi
done

# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../support/lib.sh"

fail_fast=1  # each step needs the one before

# HTTP GET with python3 (always there; curl may not be).
http_get() {
  python3 - "$1" <<'EOF'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    sys.stdout.write(r.read().decode())
EOF
}

start_redis
"$exporter" --listen 127.0.0.1:0 --demo --redis "redis://127.0.0.1:$rport" --interval 1 \
  > "$tmp/exporter.out" 2> "$tmp/exporter.log" &
pids+=($!)
url=""
for _ in $(seq 100); do
  line=$(head -n 1 "$tmp/exporter.out" 2>/dev/null || true)
  if [ -n "$line" ]; then url=${line#listening on }; break; fi
  sleep 0.05
done
[[ "$url" =~ ^http://127\.0\.0\.1:([0-9]+)/metrics/v1\?format=prometheus$ ]] || fail "unexpected first line: '$line'"
exporter_port=${BASH_REMATCH[1]}
[ "$exporter_port" != 0 ] || fail "exporter reported port 0"

# promtool on the live output.
http_get "$url" > "$tmp/live.prom" || fail "cannot scrape $url"
set +e
"$promtool" check metrics < "$tmp/live.prom" > "$tmp/promtool.out" 2>&1
rc=$?
set -e
allowed='^(total|plugin_total)_[a-z_]+ counter metrics should have "_total" suffix$'
allowed+='|^host_cpu(_used)?_count non-histogram and non-summary metrics should not have "_count" suffix$'
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then cat "$tmp/promtool.out" >&2; fail "promtool rejected the live output (exit $rc)"; fi
if grep -v -E "$allowed" "$tmp/promtool.out" | grep -q .; then
  grep -v -E "$allowed" "$tmp/promtool.out" >&2
  fail "promtool remarks beyond the allowed naming lints"
fi
grep -q 'plugin_total_ran_vms counter' "$tmp/promtool.out" || fail "promtool did not lint the counters: did it parse?"

start_program "$aggregator" --listen 127.0.0.1:0 --redis "redis://127.0.0.1:$rport"
[[ "$url" =~ ^listening\ on\ http://127\.0\.0\.1:([0-9]+)/ ]] || fail "aggregator's first line: '$url'"
aggregator_port=${BASH_REMATCH[1]}

# A recording relay in front of each program; sets proxy_port.
start_proxy() {  # UPSTREAM_PORT NAME
  python3 "$(dirname "$0")/../support/recording_proxy.py" "$1" "$tmp/$2.port" "$tmp/$2.exchanges" &
  pids+=($!)
  proxy_port=""
  for _ in $(seq 100); do
    proxy_port=$(cat "$tmp/$2.port" 2>/dev/null || true)
    [ -n "$proxy_port" ] && return 0
    sleep 0.05
  done
  fail "the relay in front of $2 did not start"
}
start_proxy "$exporter_port" exporter
exporter_proxy=$proxy_port
start_proxy "$aggregator_port" aggregator
aggregator_proxy=$proxy_port

cat > "$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: anklet
    metrics_path: /metrics/v1
    params:
      format: [prometheus]
    static_configs:
      - targets: ['127.0.0.1:${exporter_proxy}']
  - job_name: fleet
    metrics_path: /metrics/v1
    params:
      format: [prometheus]
    static_configs:
      - targets: ['127.0.0.1:${aggregator_proxy}']
EOF

# The free port could be taken between the probe and Prometheus's bind: retry a few times.
prom_port=""
for attempt in 1 2 3; do
  port=$(free_port)
  "$prometheus" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data$attempt" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn > "$tmp/prometheus.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    if http_get "http://127.0.0.1:$port/-/ready" > /dev/null 2>&1; then prom_port=$port; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$prom_port" ] && break
done
[ -n "$prom_port" ] || fail "prometheus did not become ready"
api="http://127.0.0.1:$prom_port/api/v1/query?query="

# Evaluates a PromQL query and prints the result as one JSON line per series.
query() {
  python3 - "$api" "$1" <<'EOF'
import json, sys, urllib.parse, urllib.request
with urllib.request.urlopen(sys.argv[1] + urllib.parse.quote(sys.argv[2]), timeout=5) as r:
    doc = json.load(r)
assert doc["status"] == "success", doc
for series in doc["data"]["result"]:
    print(json.dumps({"metric": series["metric"], "value": series["value"][1]}, sort_keys=True))
EOF
}

up=""
for _ in $(seq 200); do  # at most ~20 s; the first scrape comes within a second or two
  up=$(query 'up{job="anklet"}' 2>/dev/null || true)
  [ -n "$up" ] && break
  sleep 0.1
done
echo "up: $up"
[[ "$up" == *'"value": "1"'* ]] || fail "up is not 1: '$up'"

# Labels and values of a demo handler (handler 1 has a repo, handler 2 none).
# (not `status`: lib.sh's fail() keeps the script's exit status there)
series=$(query 'plugin_status{job="anklet",name="demo-handler-1"}')
echo "$series"
python3 - "$series" <<'EOF' || fail "plugin_status series are not as expected"
import json, sys
series = [json.loads(l) for l in sys.argv[1].splitlines()]
statuses = sorted(s["metric"]["status"] for s in series)
assert statuses == sorted(["idle", "paused", "pulling", "running", "in_progress", "stopped", "draining", "limit_paused"]), statuses
for s in series:
    m = s["metric"]
    assert m["__name__"] == "plugin_status" and m["plugin"] == "github", m
    assert m["owner"] == "anklet-demo" and m["repo"] == "demo-repo", m
    assert m["job"] == "anklet" and m["instance"].startswith("127.0.0.1:"), m
assert sum(float(s["value"]) for s in series) == 1, "exactly one current status"
EOF

ran=$(query 'plugin_total_ran_vms{job="anklet"}')
echo "$ran"
python3 - "$ran" <<'EOF' || fail "plugin_total_ran_vms series are not as expected"
import json, sys
series = {json.loads(l)["metric"]["name"]: json.loads(l) for l in sys.argv[1].splitlines()}
assert set(series) == {"demo-handler-1", "demo-handler-2"}, series.keys()
m = series["demo-handler-2"]["metric"]
assert m["plugin"] == "github" and m["owner"] == "anklet-demo" and "repo" not in m, m
m = series["demo-handler-1"]["metric"]
assert m["plugin"] == "github" and m["owner"] == "anklet-demo" and m["repo"] == "demo-repo", m
assert float(series["demo-handler-1"]["value"]) >= 0
EOF

# The aggregator's answers, stored: the exporter's key was read as one host.
hosts=""
for _ in $(seq 100); do
  hosts=$(query 'aggregator_hosts{job="fleet"}' 2>/dev/null || true)
  [[ "$hosts" == *'"value": "1"'* ]] && break
  sleep 0.1
done
echo "fleet: $hosts"
[[ "$hosts" == *'"value": "1"'* ]] || fail "aggregator_hosts is not 1: '$hosts'"
fleet_ran=$(query 'plugin_total_ran_vms{job="fleet"}')
[[ "$fleet_ran" == *'"name": "demo-handler-1"'* ]] || fail "the fleet's plugin_total_ran_vms misses demo-handler-1: '$fleet_ran'"

# What was said on the wire: Prometheus asks for gzip; the programs answer in it when built with zlib.
for program in exporter aggregator; do
  log=$tmp/$program.exchanges
  echo "$program: $(grep -c . "$log") scrapes relayed, e.g. $(head -n 1 "$log")"
  python3 - "$log" "$gzip" <<'EOF' || fail "$program: answers not as expected for $gzip"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines, "no scrape was relayed"
for l in lines:
    m = re.fullmatch(r"accept-encoding='(.*)' status=(\d+) content-encoding='(.*)' bytes=(\d+)", l)
    assert m, l
    accept, status, coding, size = m.groups()
    assert "gzip" in accept, f"Prometheus did not ask for gzip: {l}"
    assert status == "200", l
    assert coding == ("gzip" if sys.argv[2] == "gzip" else ""), l
EOF
done

echo "ok: prometheus scraped the exporter on port $exporter_port and the aggregator on port $aggregator_port ($gzip)"
