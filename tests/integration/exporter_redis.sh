#!/bin/bash
# The exporter program's Redis export (SPEC 7) against a redis-server started here on a
# free loopback port (stopped by PID): bad Redis flags exit 2; the key of the first plugin
# (or --key-owner/--key-name) is written with a 7-day TTL at start and again every
# --interval; SIGINT/SIGTERM delete it and exit 0; a Redis that is down does not stop it.
# Usage: exporter_redis.sh EXPORTER
set -uo pipefail
exporter=${1:?exporter path}
# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../support/lib.sh"

for args in "--redis" "--redis http://x" "--interval 1" "--redis redis://127.0.0.1:1 --interval 0" \
  "--redis redis://127.0.0.1:1 --interval x" "--key-name a" "--redis redis://127.0.0.1:1" \
  "--redis redis://127.0.0.1:1 --handler A:github:o --key-name="; do
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

# Redis down: the exporter keeps serving, says why on stderr, and still exits 0.
start --listen 127.0.0.1:0 --redis "redis://127.0.0.1:$(free_port)" --interval 0.1 --handler RUNNER1:github:MyOrg
sleep 0.5
base=$(sed -n 's|^listening on \(http://127.0.0.1:[0-9]*\)/.*|\1|p' "$tmp/run.out")
python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$base/healthcheck" ||
  fail "not serving while Redis is down"
grep -q 'Redis export to anklet/metrics/MyOrg/RUNNER1 failed' "$tmp/run.err" || fail "no failure reported: $(cat "$tmp/run.err")"
kill -s TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || fail "Redis down: exit $rc"
exit $status
