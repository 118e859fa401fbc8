#!/bin/bash
# The aggregator program's contract: bad flags give one line on stderr and exit code 2,
# --help exits 0, the first stdout line is the URL served (port 0 resolved), the fleet in
# a redis-server started here (free loopback port, stopped by PID) is served as v1/v2 JSON
# and Prometheus, a malformed value is skipped and counted, and SIGINT/SIGTERM exit 0.
# Usage: aggregator_cli.sh AGGREGATOR
set -uo pipefail
aggregator=${1:?aggregator path}
# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../support/lib.sh"

for args in "--bogus" "--listen" "--listen 127.0.0.1" "--listen 127.0.0.1:99999" "--redis" \
  "--redis http://x" "--redis redis://h:notaport" "--refresh -1" "--refresh x" "--help=1"; do
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
    [ "$(get "$base/healthcheck")" = ok ] || fail "healthcheck"
  else
    fail "first line: '$url' ($(cat "$tmp/run.err"))"
  fi
  kill -s "$sig" "$pid"
  wait "$pid"
  code=$?
  [ "$code" -eq 0 ] || fail "SIG$sig: exit $code, expected 0 ($(cat "$tmp/run.err"))"
done

# Redis unreachable: the request gets 503, the program keeps serving.
start --listen 127.0.0.1:0 --redis "redis://127.0.0.1:$(free_port)"
base=$(sed -n 's|^listening on \(http://127.0.0.1:[0-9]*\)/.*|\1|p' "$tmp/run.out")
code=$(python3 -c '
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=10); print(200)
except urllib.error.HTTPError as e:
    print(e.code)' "$base/metrics/v2?format=json")
[ "$code" = 503 ] || fail "Redis down: HTTP $code, expected 503"
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
