#!/bin/bash
# The exporter program's contract: bad flags give one line on stderr and exit code 2,
# --help exits 0, the first stdout line is the URL served (port 0 resolved), plugins from
# the command line are served idle with zero counters, format=prometheus answers OpenMetrics
# to Prometheus's Accept header unless --no-openmetrics, and SIGINT/SIGTERM exit 0.
# Usage: exporter_cli.sh EXPORTER
set -uo pipefail
exporter=${1:?exporter path}
# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../support/lib.sh"

for args in "--bogus" "--listen" "--listen 127.0.0.1" "--listen 127.0.0.1:99999" "--listen ::1:80" \
  "--handler a:b" "--handler :p:o" "--receiver a:b:c:d:e" "--host-refresh -1" "--host-refresh x" "--demo=1" \
  "--no-openmetrics=yes" "--unhealthy-after 1"; do
  # shellcheck disable=SC2086
  "$exporter" $args > "$tmp/out" 2> "$tmp/err"
  rc=$?
  [ "$rc" -eq 2 ] || fail "'$args': exit $rc, expected 2"
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "'$args': expected one line on stderr, got: $(cat "$tmp/err")"
  [ ! -s "$tmp/out" ] || fail "'$args': wrote to stdout"
done
"$exporter" --help > "$tmp/out" 2>&1 || fail "--help exited $?"
grep -q -- '--listen ADDR:PORT' "$tmp/out" || fail "--help does not list --listen"

# Starts the exporter with "$@", waits for its first line; sets url and pid.
start() { start_program "$exporter" "$@"; }

for sig in INT TERM; do
  start --listen 127.0.0.1:0 --handler RUNNER1:github:MyOrg:my-repo --receiver RECV:github_receiver:MyOrg \
    --host-refresh 0.5
  if [[ "$url" =~ ^listening\ on\ http://127\.0\.0\.1:([1-9][0-9]*)/metrics/v1\?format=prometheus$ ]]; then
    base="http://127.0.0.1:${BASH_REMATCH[1]}"
    body=$(get "$base/metrics/v1?format=anklet")
    grep -qx 'plugin_status{name=RUNNER1,plugin=github,owner=MyOrg,repo=my-repo} idle' <<< "$body" ||
      fail "handler not served idle: $body"
    grep -qx 'plugin_total_ran_vms{name=RUNNER1,plugin=github,owner=MyOrg} 0' <<< "$body" || fail "counters not zero"
    grep -qx 'plugin_status{name=RECV,plugin=github_receiver,owner=MyOrg} idle' <<< "$body" || fail "receiver missing"
    [ "$(get "$base/healthcheck")" = ok ] || fail "healthcheck"
  else
    fail "first line: '$url'"
  fi
  kill -s "$sig" "$pid"
  wait "$pid"
  rc=$?
  [ "$rc" -eq 0 ] || fail "SIG$sig: exit $rc, expected 0 ($(cat "$tmp/run.err"))"
done

# Negotiation: Prometheus's default Accept header gets OpenMetrics, curl's */* the 0.0.4 text,
# and with --no-openmetrics everyone the 0.0.4 text.
content_type() {
  python3 -c '
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Accept": sys.argv[2]})
with urllib.request.urlopen(req, timeout=5) as r:
    body = r.read().decode()
    print(r.headers["Content-Type"], "|", body.splitlines()[-1])' "$1" "$2"
}
prometheus_accept='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
for flags in "" "--no-openmetrics"; do
  # shellcheck disable=SC2086
  start --listen 127.0.0.1:0 --handler RUNNER1:github:MyOrg $flags
  base=$(sed -n 's|^listening on \(http://127.0.0.1:[0-9]*\)/.*|\1|p' "$tmp/run.out")
  got=$(content_type "$base/metrics/v1?format=prometheus" "$prometheus_accept")
  if [ -z "$flags" ]; then
    [ "$got" = "application/openmetrics-text; version=1.0.0; charset=utf-8 | # EOF" ] || fail "negotiation: $got"
  else
    [[ "$got" == "text/plain; version=0.0.4; charset=utf-8 | "* ]] || fail "--no-openmetrics: $got"
  fi
  got=$(content_type "$base/metrics/v1?format=prometheus" "*/*")
  [[ "$got" == "text/plain; version=0.0.4; charset=utf-8 | "* ]] || fail "*/*: $got"
  kill -s TERM "$pid"; wait "$pid" || fail "exit $?"
done

# A taken port: a clear error naming the address, non-zero exit.
start --listen 127.0.0.1:0
port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/run.out")
"$exporter" --listen "127.0.0.1:$port" > /dev/null 2> "$tmp/err"
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 2 ] || fail "taken port: exit $rc"
grep -q "127.0.0.1:$port" "$tmp/err" || fail "taken port: error does not name the address: $(cat "$tmp/err")"
exit $status
