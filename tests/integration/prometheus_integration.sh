#!/bin/bash
# A real Prometheus scrapes both programs: starts `anklet-metrics-exporter --demo` on
# 127.0.0.1 with port 0, exporting to a redis-server of ours that the aggregator reads, and
# Debian's `prometheus` (exemplar storage on) on a free loopback port with a 1 s scrape of
# each one's /metrics/v1?format=prometheus, waits (bounded) for scrapes, then checks
# through Prometheus's HTTP API: `up` is 1 and no target has a scrape error; the scrapes
# negotiated OpenMetrics (the exporter's own anklet_metrics_scrapes_total, as stored, and a
# request with Prometheus's Accept header); a demo handler's plugin_status and
# plugin_total_ran_vms_total series carry the expected labels; the run counters' exemplars
# are stored with the runs' job URLs (/api/v1/query_exemplars); the job-duration histogram
# answers histogram_quantile; the fleet's hosts were stored. The live 0.0.4 output must also
# pass `promtool check metrics` with no remark beyond SPEC 5's two naming lints. Each scrape
# goes through a relay that logs what was said (tests/support/recording_proxy.py):
# Prometheus asks for gzip, and with `gzip` (programs built with zlib) every answer came
# compressed; with `nogzip` none did.
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
exporter_url=$url  # start_program below sets url to the aggregator's first line
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
    --web.listen-address="127.0.0.1:$port" --log.level=warn --enable-feature=exemplar-storage \
    > "$tmp/prometheus.log" 2>&1 &
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

# The scrapes negotiated OpenMetrics: no error on either target, and the exporter counted its
# answers as OpenMetrics (Prometheus stores the counter it reads).
python3 - "http://127.0.0.1:$prom_port/api/v1/targets" <<'PY' || fail "a target reports a scrape error"
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    targets = json.load(r)["data"]["activeTargets"]
assert len(targets) == 2, targets
for t in targets:
    assert t["health"] == "up" and t["lastError"] == "", t
PY
negotiated=""
for _ in $(seq 100); do
  negotiated=$(query 'anklet_metrics_scrapes_total{job="anklet",format="openmetrics",code="200"} > 0' 2>/dev/null || true)
  [ -n "$negotiated" ] && break
  sleep 0.1
done
echo "negotiated: $negotiated"
[ -n "$negotiated" ] || fail "Prometheus's scrapes were not answered with OpenMetrics"
python3 - "$exporter_url" <<'PY' || fail "Prometheus's Accept header does not get OpenMetrics"
import sys, urllib.request
accept = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
          "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
with urllib.request.urlopen(urllib.request.Request(sys.argv[1], headers={"Accept": accept}), timeout=5) as r:
    assert r.headers["Content-Type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8", r.headers
    assert "Accept" in [v.strip() for v in r.headers["Vary"].split(",")], r.headers
    assert r.read().decode().endswith("# EOF\n")
PY

# OpenMetrics names a counter's samples <family>_total: that is what Prometheus stores.
ran=$(query 'plugin_total_ran_vms_total{job="anklet"}')
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

# Exemplars: the run counters carry the latest run's job URL, and Prometheus keeps them.
exemplars=""
for _ in $(seq 100); do  # a demo run ends every 1.25 s
  exemplars=$(python3 - "http://127.0.0.1:$prom_port" <<'PY' 2>/dev/null || true
import json, sys, time, urllib.parse, urllib.request
q = urllib.parse.urlencode({"query": 'plugin_total_successful_runs_since_start_total{job="anklet"}',
                            "start": time.time() - 600, "end": time.time() + 60})
with urllib.request.urlopen(sys.argv[1] + "/api/v1/query_exemplars?" + q, timeout=5) as r:
    doc = json.load(r)
assert doc["status"] == "success", doc
for series in doc["data"]:
    for e in series["exemplars"]:
        print(json.dumps({"series": series["seriesLabels"], "labels": e["labels"], "value": e["value"],
                          "timestamp": e["timestamp"]}, sort_keys=True))
PY
)
  [ -n "$exemplars" ] && break
  sleep 0.2
done
echo "$exemplars" | head -3
python3 - "$exemplars" <<'PY' || fail "no exemplar with a demo run's job URL stored"
import json, sys, time
found = [json.loads(l) for l in sys.argv[1].splitlines()]
assert found, "no exemplars"
for e in found:
    assert e["series"]["__name__"] == "plugin_total_successful_runs_since_start_total", e
    assert e["series"]["name"].startswith("demo-handler-"), e
    assert e["labels"]["job_url"].startswith("https://github.com/anklet-demo/demo-repo/actions/runs/"), e
    assert float(e["value"]) == 1, e
    assert abs(e["timestamp"] - time.time()) < 600, e  # the run's time, not the epoch
PY

# The job-duration histogram: counts stored, and a quantile over the buckets answers.
# Each demo handler's series is there with a finite value: the second handler's first
# successful run may come a few scrapes after the first's.
finite() {
  python3 -c 'import json, math, sys
series = [json.loads(l) for l in sys.argv[1].splitlines()]
ok = len(series) == 2 and all(math.isfinite(float(s["value"])) for s in series)
sys.exit(0 if ok else 1)' "$1" 2>/dev/null
}
quantile=""
for _ in $(seq 100); do
  quantile=$(query 'histogram_quantile(0.9, rate(plugin_job_duration_seconds_bucket{job="anklet",outcome="successful"}[5m]))' 2>/dev/null || true)
  finite "$quantile" && break
  sleep 0.2
done
echo "quantile: $quantile"
python3 - "$quantile" <<'PY' || fail "histogram_quantile over plugin_job_duration_seconds_bucket did not answer"
import json, math, sys
series = [json.loads(l) for l in sys.argv[1].splitlines()]
assert {s["metric"]["name"] for s in series} == {"demo-handler-1", "demo-handler-2"}, series
for s in series:
    v = float(s["value"])
    assert math.isfinite(v) and 0 < v <= 10, s  # demo jobs last half a second: the first bucket
PY
count=$(query 'plugin_job_duration_seconds_count{name="demo-handler-1",outcome="successful"}')
python3 -c 'import json, sys; assert float(json.loads(sys.argv[1])["value"]) >= 1' "$count" ||
  fail "job-duration count not stored: $count"
pulls=$(query 'plugin_pull_duration_seconds_count{name="demo-handler-2"}')
python3 -c 'import json, sys; assert float(json.loads(sys.argv[1])["value"]) >= 1' "$pulls" ||
  fail "pull-duration count not stored: $pulls"

# The aggregator's answers, stored: the exporter's key was read as one host.
hosts=""
for _ in $(seq 100); do
  hosts=$(query 'anklet_metrics_aggregator_hosts{job="fleet"}' 2>/dev/null || true)
  [[ "$hosts" == *'"value": "1"'* ]] && break
  sleep 0.1
done
echo "fleet: $hosts"
[[ "$hosts" == *'"value": "1"'* ]] || fail "anklet_metrics_aggregator_hosts is not 1: '$hosts'"
fleet_ran=$(query 'plugin_total_ran_vms_total{job="fleet"}')
[[ "$fleet_ran" == *'"name": "demo-handler-1"'* ]] || fail "the fleet's plugin_total_ran_vms_total misses demo-handler-1: '$fleet_ran'"

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
