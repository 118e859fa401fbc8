#!/bin/bash
# Both programs configured by Anklet's environment variables (ANKLET_GLOBAL_DATABASE_*),
# flags winning over them, and over TLS (rediss://) to a redis-server with --tls-port and a
# certificate made here with openssl: verified with --redis-ca, refused without it, accepted
# with the insecure switch. Servers on free loopback ports, stopped by PID.
# Usage: programs_env_tls.sh EXPORTER AGGREGATOR tls|notls (how the programs were built)
set -uo pipefail
exporter=${1:?exporter path}
aggregator=${2:?aggregator path}
tls=${3:?tls or notls}
# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# Unset every Anklet database variable a caller may have, so only ours count.
for v in URL PORT USER PASSWORD DATABASE CLUSTER_MODE TLS_ENABLED TLS_INSECURE; do unset "ANKLET_GLOBAL_DATABASE_$v"; done

# Bad values: one line on stderr, exit 2.
for env in "ANKLET_GLOBAL_DATABASE_URL=http://x" "ANKLET_GLOBAL_DATABASE_URL=h ANKLET_GLOBAL_DATABASE_PORT=x" \
  "ANKLET_GLOBAL_DATABASE_URL=h ANKLET_GLOBAL_DATABASE_DATABASE=-1" "ANKLET_GLOBAL_DATABASE_URL=h ANKLET_GLOBAL_DATABASE_CLUSTER_MODE=maybe" \
  "ANKLET_GLOBAL_DATABASE_URL=h ANKLET_GLOBAL_DATABASE_USER=u"; do
  # shellcheck disable=SC2086
  env $env "$aggregator" --listen 127.0.0.1:0 > "$tmp/out" 2> "$tmp/err"
  rc=$?
  [ "$rc" -eq 2 ] || fail "'$env': exit $rc, expected 2"
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "'$env': expected one line on stderr, got: $(cat "$tmp/err")"
done

start_redis
redis-cli -p "$rport" CONFIG SET requirepass s3cret > /dev/null
rc() { redis-cli -p "$rport" -a s3cret --no-auth-warning "$@"; }

# The exporter, configured only by the environment: database 3, with a password.
export ANKLET_GLOBAL_DATABASE_URL=127.0.0.1 ANKLET_GLOBAL_DATABASE_PORT=$rport ANKLET_GLOBAL_DATABASE_PASSWORD=s3cret
export ANKLET_GLOBAL_DATABASE_DATABASE=3
start_program "$exporter" --listen 127.0.0.1:0 --handler ENV1:github:acme --interval 0.2
found=""
for _ in $(seq 100); do
  [ "$(rc -n 3 EXISTS anklet/metrics/acme/ENV1)" = 1 ] && found=1 && break
  sleep 0.05
done
[ -n "$found" ] || fail "the environment's database 3 got no key ($(cat "$tmp/run.err"))"
kill -TERM "$pid"
wait "$pid" || fail "exporter exit $?"

# Flags win: --redis names database 4 while the environment says 3 and a wrong port.
ANKLET_GLOBAL_DATABASE_PORT=1 start_program "$exporter" --listen 127.0.0.1:0 --handler ENV2:github:acme \
  --redis "redis://:s3cret@127.0.0.1:$rport/4" --interval 0.2
found=""
for _ in $(seq 100); do
  [ "$(rc -n 4 EXISTS anklet/metrics/acme/ENV2)" = 1 ] && found=1 && break
  sleep 0.05
done
[ -n "$found" ] || fail "--redis did not win over the environment ($(cat "$tmp/run.err"))"
[ "$(rc -n 3 EXISTS anklet/metrics/acme/ENV2)" = 0 ] || fail "key written to the environment's database"
kill -TERM "$pid"
wait "$pid"
unset ANKLET_GLOBAL_DATABASE_URL ANKLET_GLOBAL_DATABASE_PORT ANKLET_GLOBAL_DATABASE_PASSWORD ANKLET_GLOBAL_DATABASE_DATABASE

# A CA that cannot be read is a usage error; without TLS built in, rediss:// is one.
for prog in "$exporter --handler a:b:c" "$aggregator"; do
  # shellcheck disable=SC2086
  $prog --listen 127.0.0.1:0 --redis rediss://127.0.0.1:1 --redis-ca "$tmp/missing.crt" > /dev/null 2> "$tmp/err"
  rc=$?
  [ "$rc" -eq 2 ] || fail "rediss:// with a missing CA: exit $rc, expected 2"
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "expected one line on stderr, got: $(cat "$tmp/err")"
  if [ "$tls" = notls ]; then
    grep -q 'built without TLS' "$tmp/err" || fail "without TLS: $(cat "$tmp/err")"
  else
    grep -q 'cannot load the CA' "$tmp/err" || fail "missing CA: $(cat "$tmp/err")"
  fi
done
[ "$tls" = tls ] || exit $status

# A TLS redis-server with a certificate for 127.0.0.1 from a CA made here.
( cd "$tmp" && exec > openssl.log 2>&1 &&
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=anklet test CA" &&
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 &&
  printf 'subjectAltName=IP:127.0.0.1\n' > server.ext &&
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext ) ||
  { fail "openssl: $(tail -3 "$tmp/openssl.log")"; exit 1; }
tport=$(free_port)
/usr/bin/redis-server --port 0 --tls-port "$tport" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  --tls-cert-file "$tmp/server.crt" --tls-key-file "$tmp/server.key" --tls-ca-cert-file "$tmp/ca.crt" \
  --tls-auth-clients no --logfile "$tmp/tls-redis.log" --daemonize no &
pids+=("$!")
tcli() { redis-cli --tls --cacert "$tmp/ca.crt" -p "$tport" "$@"; }
for _ in $(seq 100); do tcli ping > /dev/null 2>&1 && break; sleep 0.05; done
tcli SET anklet/metrics/acme/TLS1 '{"last_update":"2025-01-07T18:17:03Z","plugins":[{"Name":"TLS1","PluginName":"github","OwnerName":"acme","RepoName":"","Status":"idle","StatusSince":"2025-01-07T18:07:36Z","TotalRanVMs":0,"LastSuccessfulRun":"0001-01-01T00:00:00Z","LastFailedRun":"0001-01-01T00:00:00Z","LastCanceledRun":"0001-01-01T00:00:00Z","LastSuccessfulRunJobUrl":"","LastFailedRunJobUrl":"","LastCanceledRunJobUrl":"","TotalSuccessfulRunsSinceStart":0,"TotalFailedRunsSinceStart":0,"TotalCanceledRunsSinceStart":0}]}' > /dev/null

# answer ARGS...: the v1 answer's status and body of an aggregator started with ARGS.
answer() {
  start_program "$aggregator" --listen 127.0.0.1:0 "$@"
  local base
  base=$(sed -n 's|^listening on \(http://127.0.0.1:[0-9]*\)/.*|\1|p' "$tmp/run.out")
  # Redis is read in the background: until the first read ends, the answer says only that.
  python3 -c '
import sys, time, urllib.request, urllib.error
for _ in range(100):
    try:
        r = urllib.request.urlopen(sys.argv[1], timeout=10); print(200, r.read().decode()); break
    except urllib.error.HTTPError as e:
        body = e.read().decode()
        if e.code == 503 and body == "no complete read of the fleet from Redis yet\n":
            time.sleep(0.05); continue
        print(e.code, body); break
    except Exception as e:
        print("no answer:", repr(e)); break' "$base/metrics/v1?format=json"
  [ -n "$base" ] || echo "(no first line; stderr: $(cat "$tmp/run.err"))"
  kill -TERM "$pid"
  wait "$pid"
}
a=$(answer --redis "rediss://127.0.0.1:$tport" --redis-ca "$tmp/ca.crt")
[[ "$a" == 200*'"TLS1"'* ]] || fail "verified TLS: $a"
a=$(answer --redis "rediss://127.0.0.1:$tport")
[[ "$a" == 503*"server certificate not trusted"* ]] || fail "TLS with the system store should be refused: $a"
a=$(answer --redis "rediss://127.0.0.1:$tport" --redis-tls-insecure)
[[ "$a" == 200*'"TLS1"'* ]] || fail "--redis-tls-insecure: $a"
# The same through Anklet's variables.
a=$(ANKLET_GLOBAL_DATABASE_URL=127.0.0.1 ANKLET_GLOBAL_DATABASE_PORT=$tport ANKLET_GLOBAL_DATABASE_TLS_ENABLED=true \
  ANKLET_GLOBAL_DATABASE_TLS_INSECURE=true answer)
[[ "$a" == 200*'"TLS1"'* ]] || fail "ANKLET_GLOBAL_DATABASE_TLS_ENABLED/_INSECURE: $a"
a=$(ANKLET_GLOBAL_DATABASE_URL=127.0.0.1 ANKLET_GLOBAL_DATABASE_PORT=$tport ANKLET_GLOBAL_DATABASE_TLS_ENABLED=true answer)
[[ "$a" == 503*"not trusted"* ]] || fail "TLS from the environment is verified by default: $a"
exit $status
