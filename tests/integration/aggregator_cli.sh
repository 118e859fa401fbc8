#!/bin/bash
# The aggregator program's contract: bad flags give one line on stderr and exit code 2,
# --help exits 0, the first stdout line is the URL served (port 0 resolved), the fleet in
# a redis-server started here (free loopback port, stopped by PID) is served as v1/v2 JSON
# and Prometheus (OpenMetrics to a scraper that asks for it, unless --no-openmetrics), a
# malformed value is skipped and counted, SIGINT/SIGTERM exit 0, and --unhealthy-after
# turns /healthcheck 503 while Redis reads fail.
# Usage: aggregator_cli.sh AGGREGATOR
set -uo pipefail
aggregator=${1:?aggregator path}
# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../support/lib.sh"

for args in "--bogus" "--listen" "--listen 127.0.0.1" "--listen 127.0.0.1:99999" "--redis" \
  "--redis http://x" "--redis redis://h:notaport" "--refresh -1" "--refresh x" "--help=1" \
  "--unhealthy-after x" "--no-openmetrics=1"; do
  # shellcheck disable=SC2086
  "$aggregator" $args > "$tmp/out" 2> "$tmp/err"
  rc=$?
  [ "$rc" -eq 2 ] || fail "'$args': exit $rc, expected 2"
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "'$args': expected one line on stderr, got: $(cat "$tmp/err")"
  [ ! -s "$tmp/out" ] || fail "'$args': wrote to stdout"
done
"$aggregator" --help > "$tmp/out" 2>&1 || fail "--help exited $?"
for flag in '--listen ADDR:PORT' '--redis URL' '--refresh SECONDS'; do
  grep -q -- "$flag" "$tmp/out" || fail "--help does not list $flag"
done

# A redis-server of our own on a free loopback port.
start_redis
rc() { redis-cli -p "$rport" "$@" > /dev/null; }
rc SET anklet/metrics/veertuinc/RUNNER1 '{"last_update":"2025-01-07T18:17:03.5-06:00","host_cpu_count":12,"plugins":[{"Name":"RUNNER1","PluginName":"github","OwnerName":"veertuinc","RepoName":"anklet","Status":"idle","StatusSince":"2025-01-07T18:07:36-06:00","TotalRanVMs":3,"LastSuccessfulRun":"0001-01-01T00:00:00Z","LastFailedRun":"0001-01-01T00:00:00Z","LastCanceledRun":"0001-01-01T00:00:00Z","LastSuccessfulRunJobUrl":"","LastFailedRunJobUrl":"","LastCanceledRunJobUrl":"","TotalSuccessfulRunsSinceStart":0,"TotalFailedRunsSinceStart":0,"TotalCanceledRunsSinceStart":0}]}'
rc SET anklet/metrics/broken 'not json'

start() { start_program "$aggregator" "$@"; }

for sig in INT TERM; do
  start --listen 127.0.0.1:0 --redis "redis://127.0.0.1:$rport" --refresh 0
  if [[ "$url" =~ ^listening\ on\ http://127\.0\.0\.1:([1-9][0-9]*)/metrics/v1\?format=json$ ]]; then
    base="http://127.0.0.1:${BASH_REMATCH[1]}"
    # Redis is read in the background: answers are 503 until the first read completes.
    for _ in $(seq 100); do v2=$(get "$base/metrics/v2?format=json" 2>/dev/null) && break; sleep 0.05; done
    python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert isinstance(d, list) and len(d) == 1, d
e = d[0]
assert e["custom_name"] == "RUNNER1" and e["repo_name"] == "anklet" and e["plugin_total_ran_vms"] == 3, e
assert e["last_update"] == "2025-01-07T18:17:03-06:00", e["last_update"]
assert e["host_cpu_count"] == 12
' "$v2" || fail "v2 JSON: $v2"
    v1=$(get "$base/metrics/v1?format=json")
    python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert list(d) == ["RUNNER1"], d' "$v1" || fail "v1 JSON: $v1"
    prom=$(get "$base/metrics/v1?format=prometheus")
    grep -qx 'anklet_metrics_aggregator_skipped_keys{reason="malformed"} 1' <<< "$prom" || fail "skipped key not counted: $prom"
    grep -qx 'host_cpu_count{name="RUNNER1",owner="veertuinc"} 12' <<< "$prom" || fail "host value missing"
    om=$(python3 -c '
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"})
with urllib.request.urlopen(req, timeout=5) as r:
    print(r.headers["Content-Type"])
    sys.stdout.write(r.read().decode())' "$base/metrics/v1?format=prometheus")
    grep -qx 'application/openmetrics-text; version=1.0.0; charset=utf-8' <<< "$om" || fail "no OpenMetrics: $(head -1 <<< "$om")"
    grep -qx 'plugin_total_ran_vms_total{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet"} 3' <<< "$om" ||
      fail "OpenMetrics counter sample missing"
    [ "$(tail -n 1 <<< "$om")" = "# EOF" ] || fail "OpenMetrics does not end with # EOF"
    [ "$(get "$base/healthcheck")" = ok ] || fail "healthcheck"
  else
    fail "first line: '$url' ($(cat "$tmp/run.err"))"
  fi
  kill -s "$sig" "$pid"
  wait "$pid"
  code=$?
  [ "$code" -eq 0 ] || fail "SIG$sig: exit $code, expected 0 ($(cat "$tmp/run.err"))"
done

status_of() {  # HTTP status of a GET, with an optional Accept header
  python3 -c '
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], headers={"Accept": sys.argv[2]} if sys.argv[2] else {})
try:
    r = urllib.request.urlopen(req, timeout=10); print(200, r.headers["Content-Type"])
except urllib.error.HTTPError as e:
    print(e.code)' "$1" "${2:-}"
}

# Redis unreachable: the request gets 503, the program keeps serving; with --unhealthy-after
# the healthcheck says so once enough reads in a row failed.
start --listen 127.0.0.1:0 --redis "redis://127.0.0.1:$(free_port)" --unhealthy-after 3
base=$(sed -n 's|^listening on \(http://127.0.0.1:[0-9]*\)/.*|\1|p' "$tmp/run.out")
code=$(status_of "$base/metrics/v2?format=json")
[ "$code" = 503 ] || fail "Redis down: HTTP $code, expected 503"
health=""
for _ in $(seq 100); do
  health=$(status_of "$base/healthcheck")
  [ "$health" = 503 ] && break
  sleep 0.05
done
[ "$health" = 503 ] || fail "--unhealthy-after 3: healthcheck $health while Redis is down"
kill "$pid"; wait "$pid" || true

# --no-openmetrics: the 0.0.4 text whatever the scraper asks for.
start --listen 127.0.0.1:0 --redis "redis://127.0.0.1:$rport" --no-openmetrics
base=$(sed -n 's|^listening on \(http://127.0.0.1:[0-9]*\)/.*|\1|p' "$tmp/run.out")
for _ in $(seq 100); do get "$base/metrics/v2?format=json" > /dev/null 2>&1 && break; sleep 0.05; done
answer=$(status_of "$base/metrics/v1?format=prometheus" "application/openmetrics-text;version=1.0.0")
[ "$answer" = "200 text/plain; version=0.0.4; charset=utf-8" ] || fail "--no-openmetrics: $answer"
kill "$pid"; wait "$pid" || true

# --max-age: the 2025 host is older than a day, so it is left out and counted.
start --listen 127.0.0.1:0 --redis "redis://127.0.0.1:$rport" --max-age 86400
base=$(sed -n 's|^listening on \(http://127.0.0.1:[0-9]*\)/.*|\1|p' "$tmp/run.out")
for _ in $(seq 100); do prom=$(get "$base/metrics/v2?format=prometheus" 2>/dev/null) && break; sleep 0.05; done
grep -qx 'anklet_metrics_aggregator_skipped_keys{reason="stale"} 1' <<< "$prom" || fail "--max-age: stale host not counted: $prom"
grep -q '^host_cpu_count{' <<< "$prom" && fail "--max-age: stale host served"
grep -q 'skipped key anklet/metrics/veertuinc/RUNNER1 (stale)' "$tmp/run.err" || fail "--max-age: skip not logged"
[ "$(get "$base/healthcheck")" = ok ] || fail "healthcheck with Redis down"
exit $status
