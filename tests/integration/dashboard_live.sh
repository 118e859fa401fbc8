#!/bin/bash
# The Grafana dashboard against live data: starts a redis-server, `anklet-metrics-exporter
# --demo --redis` on 127.0.0.1 (port 0; its Redis writer's figures are panels too) and
# Debian's `prometheus` on a free loopback port scraping it every second (OpenMetrics, as
# Prometheus negotiates by default), waits (bounded) until the demo has produced
# successful, failed and canceled runs, then requires every query of
# docs/grafana-dashboard.json to return data (tests/integration/check_dashboard.py
# --prometheus). Stops exactly the processes it started.
# Usage: dashboard_live.sh EXPORTER RENDER_SAMPLE [PROMETHEUS]
set -euo pipefail
exporter=${1:?exporter path}
render_sample=${2:?render_sample path}
prometheus=${3:-$(command -v prometheus || true)}
[ -n "$prometheus" ] && [ -x "$prometheus" ] || { echo "FAIL: prometheus not found (Debian package 'prometheus')" >&2; exit 1; }
root=$(cd "$(dirname "$0")/../.." && pwd)

# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
fail_fast=1  # each step needs the one before
http_ok() {  # exit status only: does the URL answer 200?
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null
}
series_count() {  # number of series a PromQL query returns
  python3 - "$1" "$2" <<'PY'
import json, sys, urllib.parse, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/api/v1/query?query=" + urllib.parse.quote(sys.argv[2]), timeout=5) as r:
    print(len(json.load(r)["data"]["result"]))
PY
}

start_redis
"$exporter" --listen 127.0.0.1:0 --demo --redis "redis://127.0.0.1:$rport" --interval 1 \
  > "$tmp/exporter.out" 2> "$tmp/exporter.log" &
pids+=($!)
line=""
for _ in $(seq 100); do
  line=$(head -n 1 "$tmp/exporter.out" 2>/dev/null || true)
  [ -n "$line" ] && break
  sleep 0.05
done
[[ "$line" =~ ^listening\ on\ http://127\.0\.0\.1:([0-9]+)/ ]] || fail "unexpected first line: '$line'"
exporter_port=${BASH_REMATCH[1]}

cat > "$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: anklet
    metrics_path: /metrics/v1
    params:
      format: [prometheus]
    static_configs:
      - targets: ['127.0.0.1:${exporter_port}']
YML
prom=""
for attempt in 1 2 3; do  # the probed port may be taken before Prometheus binds it
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$prometheus" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data$attempt" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn > "$tmp/prometheus.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    if http_ok "http://127.0.0.1:$port/-/ready"; then prom="http://127.0.0.1:$port"; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$prom" ] && break
done
[ -n "$prom" ] || fail "prometheus did not become ready"

# Every panel needs the demo to have finished each kind of run and two scrapes for rates.
ready=""
for _ in $(seq 120); do  # at most ~60 s
  if [ "$(series_count "$prom" 'plugin_last_successful_run > 0' 2>/dev/null || echo 0)" -gt 0 ] &&
     [ "$(series_count "$prom" 'plugin_last_failed_run > 0' 2>/dev/null || echo 0)" -gt 0 ] &&
     [ "$(series_count "$prom" 'plugin_last_canceled_run > 0' 2>/dev/null || echo 0)" -gt 0 ] &&
     [ "$(series_count "$prom" 'count_over_time(up[1m]) >= 3' 2>/dev/null || echo 0)" -gt 0 ]; then
    ready=yes
    break
  fi
  sleep 0.5
done
[ -n "$ready" ] || fail "the demo did not produce every kind of run in time"

python3 "$root/tests/integration/check_dashboard.py" --prometheus "$prom" "$root/docs/grafana-dashboard.json" \
  "$root/docs/metrics.md" "$render_sample" openmetrics || fail "dashboard queries against live data"
