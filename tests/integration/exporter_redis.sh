#!/bin/bash
# The exporter program's Redis export (SPEC 7) against a redis-server started here on a
# free loopback port (stopped by PID): bad Redis flags exit 2; the key of the first plugin
# (or --key-owner/--key-name) is written with a 7-day TTL at start and again every
# --interval; SIGINT/SIGTERM delete it and exit 0; a Redis that is down does not stop it;
# the writer's own figures are in the scrape, and --unhealthy-after turns /healthcheck 503
# while writes fail.
# Usage: exporter_redis.sh EXPORTER
set -uo pipefail
exporter=${1:?exporter path}
# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../support/lib.sh"

for args in "--redis" "--redis http://x" "--interval 1" "--redis redis://127.0.0.1:1 --interval 0" \
  "--redis redis://127.0.0.1:1 --interval x" "--key-name a" "--redis redis://127.0.0.1:1" \
  "--redis redis://127.0.0.1:1 --handler A:github:o --key-name=" "--handler A:github:o --unhealthy-after 2" \
  "--redis redis://127.0.0.1:1 --handler A:github:o --unhealthy-after -1"; do
  # shellcheck disable=SC2086
  "$exporter" $args > "$tmp/out" 2> "$tmp/err"
  rc=$?
  [ "$rc" -eq 2 ] || fail "'$args': exit $rc, expected 2"
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "'$args': expected one line on stderr, got: $(cat "$tmp/err")"
done

start_redis
rcli() { redis-cli -p "$rport" "$@"; }

start() { start_program "$exporter" "$@"; }
wait_key() {  # key: waits until it exists
  for _ in $(seq 100); do
    [ "$(rcli EXISTS "$1")" = 1 ] && return 0
    sleep 0.05
  done
  return 1
}

for sig in INT TERM; do
  start --listen 127.0.0.1:0 --redis "redis://127.0.0.1:$rport" --interval 0.2 \
    --handler RUNNER1:github:MyOrg:my-repo --receiver RECV:github_receiver:MyOrg
  key=anklet/metrics/MyOrg/RUNNER1
  if wait_key "$key"; then
    ttl=$(rcli TTL "$key")
    [ "$ttl" -gt 604000 ] && [ "$ttl" -le 604800 ] || fail "TTL $ttl"
    python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert [p["Name"] for p in d["plugins"]] == ["RUNNER1", "RECV"], d["plugins"]
assert all(len(p) == 16 and "TotalRanVMs" in p for p in d["plugins"]), "every plugin carries the 16 fields of Go"
assert d["host_memory_total_bytes"] > 0, "host metrics not refreshed before the write"
' "$(rcli GET "$key")" || fail "payload"
    # Periodic: the value is rewritten (last_update moves) within a few intervals.
    first=$(rcli GET "$key")
    moved=0
    for _ in $(seq 50); do
      sleep 0.05
      [ "$(rcli GET "$key")" != "$first" ] && { moved=1; break; }
    done
    [ "$moved" = 1 ] || fail "value not rewritten after the interval"
  else
    fail "key $key not written ($(cat "$tmp/run.err"))"
  fi
  kill -s "$sig" "$pid"
  wait "$pid"
  rc=$?
  [ "$rc" -eq 0 ] || fail "SIG$sig: exit $rc, expected 0 ($(cat "$tmp/run.err"))"
  [ "$(rcli EXISTS "$key")" = 0 ] || fail "SIG$sig: key not deleted"
done

# --key-owner / --key-name, and an empty owner.
start --listen 127.0.0.1:0 --redis "redis://127.0.0.1:$rport" --handler RUNNER1:github:MyOrg --key-name fleet-a
wait_key anklet/metrics/MyOrg/fleet-a || fail "--key-name not used"
kill -s TERM "$pid"; wait "$pid"
start --listen 127.0.0.1:0 --redis "redis://127.0.0.1:$rport" --handler RUNNER1:github:MyOrg --key-owner ""
wait_key anklet/metrics/RUNNER1 || fail "empty --key-owner: key should be anklet/metrics/RUNNER1"
kill -s TERM "$pid"; wait "$pid"

# The writer's figures in the scrape: good writes counted, the last one's time, no failures.
start --listen 127.0.0.1:0 --redis "redis://127.0.0.1:$rport" --interval 0.1 --handler RUNNER1:github:MyOrg
wait_key anklet/metrics/MyOrg/RUNNER1 || fail "key not written"
base=$(sed -n 's|^listening on \(http://127.0.0.1:[0-9]*\)/.*|\1|p' "$tmp/run.out")
sleep 1.2  # several writes, and the scrape counts' interval
get "$base/metrics/v1?format=prometheus" > "$tmp/self.prom" || fail "scrape failed"
python3 - "$tmp/self.prom" <<'PY' || fail "the writer's figures are not in the scrape: $(grep anklet_metrics "$tmp/self.prom")"
import re, sys, time
text = open(sys.argv[1]).read()
def value(series):
    m = re.search("^" + re.escape(series) + r" (\S+)$", text, re.M)
    assert m, series
    return float(m.group(1))
assert value('anklet_metrics_redis_writes_total{result="ok"}') >= 2
assert value('anklet_metrics_redis_writes_total{result="failed"}') == 0
assert abs(value("anklet_metrics_redis_last_success_timestamp_seconds") - time.time()) < 30
assert value("anklet_metrics_redis_consecutive_failures") == 0
assert "# TYPE anklet_metrics_scrapes_total counter" in text
PY
kill -s TERM "$pid"; wait "$pid"

# Redis down: the exporter keeps serving, says why on stderr, and still exits 0. With
# --unhealthy-after, /healthcheck says so once enough writes in a row failed.
start --listen 127.0.0.1:0 --redis "redis://127.0.0.1:$(free_port)" --interval 0.1 --handler RUNNER1:github:MyOrg \
  --unhealthy-after 2
base=$(sed -n 's|^listening on \(http://127.0.0.1:[0-9]*\)/.*|\1|p' "$tmp/run.out")
health() { python3 -c '
import sys, urllib.error, urllib.request
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=5)
    print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
' "$base/healthcheck"; }
unhealthy=""
for _ in $(seq 100); do
  h=$(health) || break
  [[ "$h" == 503\ unhealthy:\ Redis\ export\ failed* ]] && { unhealthy=yes; break; }
  sleep 0.05
done
[ -n "$unhealthy" ] || fail "/healthcheck did not turn 503 while Redis writes fail: '$h'"
get "$base/metrics/v1?format=json" > /dev/null || fail "not serving while Redis is down"
get "$base/metrics/v1?format=prometheus" | grep -q '^anklet_metrics_redis_consecutive_failures [1-9]' ||
  fail "failures in a row not in the scrape"
grep -q 'Redis export to anklet/metrics/MyOrg/RUNNER1 failed' "$tmp/run.err" || fail "no failure reported: $(cat "$tmp/run.err")"
kill -s TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || fail "Redis down: exit $rc"
exit $status
