#!/bin/bash
# HTTP benchmark: wrk against both programs and, in the same run, against peers serving the
# identical bytes on loopback, as ratios (docs/performance-http.md):
#  1. the exporter with 2 and 1000 plugins against civetweb (prometheus-cpp's embedded
#     server; benchmarks/civetweb_peer.cpp) and nginx serving the body as a static file
#     (sendfile, as many workers as the exporter has event loops), in requests/s and in
#     each server's CPU time per answer (and wrk's: a client that uses its whole core caps
#     the requests/s of every server faster than it);
#  2. gzip: the exporter (2 and 1000 plugins) and the aggregator's 10,000-host answer
#     (/metrics/v1?format=prometheus, from a Redis filled by benchmarks/fleet_fill), each
#     uncompressed and with Accept-Encoding: gzip, against nginx serving the same bytes
#     (gzip_static: the compressed file fetched from our server); bytes on the wire too;
#  3. sendfile: one event loop sending the 1000-plugin and the 10,000-host bodies by one
#     sendmsg from memory against sendfile from a sealed memfd (benchmarks/sendfile_peer);
#  4. the exporter's resident size with 2 plugins after 10,000 keep-alive scrapes.
# The load average is printed before and after: compare ratios, from one run on one machine.
#
# usage: benchmarks/http_bench.sh [BUILD_DIR]
#   DURATION=5 CONNECTIONS=16 THREADS=2 CIVETWEB_THREADS=16 FLEET_HOSTS=10000 benchmarks/http_bench.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
duration=${DURATION:-5}
connections=${CONNECTIONS:-16}
wrk_threads=${THREADS:-2}
fleet_hosts=${FLEET_HOSTS:-10000}
# One civetweb worker per connection: civetweb pins a thread to each keep-alive
# connection, so fewer threads would leave connections waiting and flatter us.
civetweb_threads=${CIVETWEB_THREADS:-$connections}
# The exporter runs one event loop per core (up to 4); nginx gets as many workers.
loops=$(nproc)
[ "$loops" -le 4 ] || loops=4

exporter=$build/examples/anklet-metrics-exporter
aggregator=$build/examples/anklet-metrics-aggregator
civetweb=$build/benchmarks/civetweb_peer
sendfile_peer=$build/benchmarks/sendfile_peer
fleet_fill=$build/benchmarks/fleet_fill
ninja -C "$build" examples/anklet-metrics-exporter examples/anklet-metrics-aggregator benchmarks/fleet_fill >&2
for optional in civetweb_peer sendfile_peer; do
  if ninja -C "$build" -t targets all 2>/dev/null | grep -q "^benchmarks/$optional:"; then
    ninja -C "$build" "benchmarks/$optional" >&2
  fi
done
for tool in wrk nginx python3 redis-server redis-cli; do
  command -v "$tool" > /dev/null || { echo "missing $tool (Debian packages: wrk nginx-light python3 redis-server)" >&2; exit 1; }
done

# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../tests/support/lib.sh"
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

fetch() {  # URL FILE [Accept-Encoding]; fails on anything but 200
  python3 - "$@" <<'EOF'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Accept-Encoding": sys.argv[3]} if len(sys.argv) > 3 else {})
with urllib.request.urlopen(req, timeout=30) as r:
    if len(sys.argv) > 3 and r.headers.get("Content-Encoding") != sys.argv[3]:
        sys.exit(f"{sys.argv[1]} did not answer in {sys.argv[3]}")
    open(sys.argv[2], "wb").write(r.read())
EOF
}
wait_http() {  # URL [SECONDS]
  local i
  for ((i = 0; i < ${2:-5} * 20; i++)); do
    fetch "$1" /dev/null 2> /dev/null && return 0
    sleep 0.05
  done
  echo "no answer from $1" >&2
  return 1
}

# Starts PROGRAM ARGS... and waits for its first line; sets started_pid and started_port.
start_server() {
  local line=""
  rm -f "$tmp/server.out"
  : > "$tmp/server.out"
  "$@" > "$tmp/server.out" &
  started_pid=$!
  pids+=("$started_pid")
  for _ in $(seq 100); do
    line=$(head -n 1 "$tmp/server.out" 2> /dev/null || true)
    [ -n "$line" ] && break
    sleep 0.05
  done
  started_port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' <<< "$line")
  [ -n "$started_port" ] || { echo "$1 did not start: '$line'" >&2; exit 1; }
}

start_exporter() {  # PLUGINS; sets exporter_pid and exporter_port
  local n=$1 args=() i
  for ((i = 1; i <= n; i++)); do args+=(--handler "bench-handler-$i:github:bench-org:bench-repo"); done
  start_server "$exporter" --listen 127.0.0.1:0 "${args[@]}"
  exporter_pid=$started_pid
  exporter_port=$started_port
}

start_nginx() {  # BODY_FILE [GZIP_FILE]; sets nginx_pid and nginx_port
  nginx_port=$(free_port)
  rm -rf "$tmp/nginx/www"
  mkdir -p "$tmp/nginx/www/metrics" "$tmp/nginx/logs"
  cp "$1" "$tmp/nginx/www/metrics/v1"
  [ -z "${2:-}" ] || cp "$2" "$tmp/nginx/www/metrics/v1.gz"
  cat > "$tmp/nginx/nginx.conf" <<EOF
daemon off;
worker_processes $loops;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  gzip_static on;
  keepalive_requests 100000000;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $tmp/nginx/www;
    default_type "text/plain; version=0.0.4; charset=utf-8";
  }
}
EOF
  # Workers drop root privileges: let them read the body.
  chmod 755 "$tmp"
  chmod -R a+rX "$tmp/nginx"
  nginx -p "$tmp/nginx" -e "$tmp/nginx/logs/error.log" -c "$tmp/nginx/nginx.conf" &
  nginx_pid=$!
  pids+=("$nginx_pid")
}

start_civetweb() {  # BODY_FILE; sets civetweb_pid and civetweb_port
  civetweb_port=$(free_port)
  "$civetweb" "$1" "$civetweb_port" "$civetweb_threads" > /dev/null &
  civetweb_pid=$!
  pids+=("$civetweb_pid")
}

start_sendfile_peer() {  # BODY_FILE MODE; sets peer_pid and peer_port
  peer_port=$(free_port)
  "$sendfile_peer" "$1" "$peer_port" "$2" &
  peer_pid=$!
  pids+=("$peer_pid")
}

# Prints "REQ_PER_S P99_MS SERVER_US CLIENT_US" for one wrk run (after a 1 s warm-up): the
# CPU time per answer of the processes in $cpu_pids (the server measured; 0 when unset) and
# of wrk itself. Extra arguments go to wrk (e.g. -H 'Accept-Encoding: gzip').
run_wrk() {
  local url=$1
  shift
  wrk -t1 -c"$connections" -d1s "$@" "$url" > /dev/null || { echo "wrk failed on $url" >&2; return 1; }
  # A 52 MB answer over 8 busy connections can take more than wrk's default 2 s timeout.
  python3 - "$tmp/wrk.out" "${cpu_pids:-}" \
    wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" --timeout 30s --latency "$@" "$url" <<'EOF'
import os, re, resource, subprocess, sys
out, pids, command = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
tick = os.sysconf("SC_CLK_TCK")
def cpu_seconds(pid):  # user + system time of every thread of a process
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
def children_seconds():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
server0, client0 = sum(map(cpu_seconds, pids)), children_seconds()
text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
server, client = sum(map(cpu_seconds, pids)) - server0, children_seconds() - client0
open(out, "w").write(text)
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
requests = int(re.search(r"(\d+) requests in", text).group(1))
value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
p99 = float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", text)
if errors:
    print(f"wrk reported: {errors.group(0)}", file=sys.stderr)
print(f"{rps:.0f} {p99:.2f} {server * 1e6 / requests:.1f} {client * 1e6 / requests:.1f}")
EOF
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }
size_of() { stat -c %s "$1"; }

# gzip rows for one answer: ours and nginx, identity and gzip.
gzip_rows() {  # LABEL OUR_URL PLAIN_FILE GZIP_FILE
  local label=$1 url=$2 plain=$3 gz=$4 ours ours_p99 theirs theirs_p99
  start_nginx "$plain" "$gz"
  wait_http "http://127.0.0.1:$nginx_port$query"
  for coding in identity gzip; do
    local headers=() file=$plain
    if [ "$coding" = gzip ]; then headers=(-H 'Accept-Encoding: gzip'); file=$gz; fi
    read -r ours ours_p99 _ < <(run_wrk "$url" "${headers[@]}")
    read -r theirs theirs_p99 _ < <(run_wrk "http://127.0.0.1:$nginx_port$query" "${headers[@]}")
    printf '| %s | %s | %s | %s | %s | **%s** |\n' "$label" "$coding" "$(size_of "$file")" "$ours" "$theirs" \
      "$(ratio "$ours" "$theirs")" >> "$tmp/gzip.rows"
  done
  stop_pid "$nginx_pid"
}

sendfile_row() {  # LABEL BODY_FILE
  local writev sendfile p99
  start_sendfile_peer "$2" writev
  wait_http "http://127.0.0.1:$peer_port$query"
  read -r writev p99 _ < <(run_wrk "http://127.0.0.1:$peer_port$query")
  stop_pid "$peer_pid"
  start_sendfile_peer "$2" sendfile
  wait_http "http://127.0.0.1:$peer_port$query"
  read -r sendfile p99 _ < <(run_wrk "http://127.0.0.1:$peer_port$query")
  stop_pid "$peer_pid"
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$(size_of "$2")" "$writev" "$sendfile" "$(ratio "$sendfile" "$writev")" \
    >> "$tmp/sendfile.rows"
}

query="/metrics/v1?format=prometheus"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
echo "wrk: $wrk_threads threads, $connections keep-alive connections, ${duration}s per run after a 1 s warm-up"
echo "exporter: $loops event loops; aggregator: one event loop; nginx: $loops workers, sendfile, gzip_static;" \
  "civetweb: $civetweb_threads threads"
: > "$tmp/gzip.rows"
: > "$tmp/sendfile.rows"
echo
echo "### Exporter against civetweb and nginx (uncompressed)"
echo
printf '| plugins | body bytes | server | requests/s | p99 ms | server CPU µs per answer | wrk CPU µs per answer | exporter ratio (requests/s) | exporter ratio (server CPU per answer) |\n'
printf '|---:|---:|---|---:|---:|---:|---:|---:|---:|\n'
for plugins in 2 1000; do
  start_exporter "$plugins"
  url="http://127.0.0.1:$exporter_port$query"
  wait_http "$url"
  fetch "$url" "$tmp/body.prom"
  fetch "$url" "$tmp/body.prom.gz" gzip
  size=$(size_of "$tmp/body.prom")
  start_nginx "$tmp/body.prom"
  wait_http "http://127.0.0.1:$nginx_port$query"
  read -r ours_rps ours_p99 ours_cpu ours_wrk < <(cpu_pids=$exporter_pid run_wrk "$url")
  printf '| %s | %s | anklet-metrics-exporter | %s | %s | %s | %s | | |\n' "$plugins" "$size" "$ours_rps" "$ours_p99" \
    "$ours_cpu" "$ours_wrk"
  if [ -x "$civetweb" ]; then
    start_civetweb "$tmp/body.prom"
    wait_http "http://127.0.0.1:$civetweb_port$query"
    read -r rps p99 cpu client < <(cpu_pids=$civetweb_pid run_wrk "http://127.0.0.1:$civetweb_port$query")
    printf '| %s | %s | civetweb %s | %s | %s | %s | %s | %s | %s |\n' "$plugins" "$size" \
      "$(dpkg-query -W -f='${Version}' libcivetweb-dev 2> /dev/null || true)" "$rps" "$p99" "$cpu" "$client" \
      "$(ratio "$ours_rps" "$rps")" "$(ratio "$cpu" "$ours_cpu")"
    stop_pid "$civetweb_pid"
  else
    printf '| %s | %s | civetweb (not built: libcivetweb-dev missing) | | | | | | |\n' "$plugins" "$size"
  fi
  # nginx answers from its workers, the master's children.
  read -r rps p99 cpu client < <(cpu_pids=$(pgrep -P "$nginx_pid" | tr '\n' ' ') run_wrk "http://127.0.0.1:$nginx_port$query")
  printf '| %s | %s | nginx %s | %s | %s | %s | %s | **%s** | **%s** |\n' "$plugins" "$size" "$(nginx -v 2>&1 | sed 's|.*/||')" \
    "$rps" "$p99" "$cpu" "$client" "$(ratio "$ours_rps" "$rps")" "$(ratio "$cpu" "$ours_cpu")"
  stop_pid "$nginx_pid"
  gzip_rows "exporter, $plugins plugins" "$url" "$tmp/body.prom" "$tmp/body.prom.gz"
  [ "$plugins" = 1000 ] && [ -x "$sendfile_peer" ] && sendfile_row "exporter, 1000 plugins" "$tmp/body.prom"
  stop_pid "$exporter_pid"
done

# The aggregator over a Redis holding the fleet; a long --refresh, so that background reads
# (each renders every answer) do not take the CPU from the answers being measured.
start_redis
"$fleet_fill" "redis://127.0.0.1:$rport" "$fleet_hosts" > /dev/null
start_server "$aggregator" --listen 127.0.0.1:0 --redis "redis://127.0.0.1:$rport" --refresh 3600
aggregator_pid=$started_pid
url="http://127.0.0.1:$started_port$query"
wait_http "$url" 120  # 503 until the first read completed
fetch "$url" "$tmp/fleet.prom"
fetch "$url" "$tmp/fleet.prom.gz" gzip
gzip_rows "aggregator, $fleet_hosts hosts" "$url" "$tmp/fleet.prom" "$tmp/fleet.prom.gz"
stop_pid "$aggregator_pid"
[ -x "$sendfile_peer" ] && sendfile_row "aggregator, $fleet_hosts hosts" "$tmp/fleet.prom"

echo
echo "### gzip: bytes on the wire and requests/s against nginx serving the same bytes"
echo
printf '| answer | coding | body bytes on the wire | ours req/s | nginx req/s | ours / nginx |\n'
printf '|---|---|---:|---:|---:|---:|\n'
cat "$tmp/gzip.rows"
echo
echo "### sendfile from a sealed memfd against one sendmsg from memory (one event loop)"
echo
printf '| body | bytes | sendmsg req/s | sendfile req/s | sendfile / sendmsg |\n'
printf '|---|---:|---:|---:|---:|\n'
if [ -s "$tmp/sendfile.rows" ]; then cat "$tmp/sendfile.rows"; else echo '| (sendfile_peer not built: not Linux) | | | | |'; fi

# Resident size after 10,000 scrapes on one keep-alive connection, 2 plugins.
start_exporter 2
wait_http "http://127.0.0.1:$exporter_port$query"
python3 - "$exporter_port" "$query" <<'EOF'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for _ in range(10000):
    c.request("GET", sys.argv[2])
    r = c.getresponse()
    assert r.status == 200
    r.read()
EOF
rss=$(sed -n 's/^VmRSS:\s*\([0-9]*\) kB/\1/p' "/proc/$exporter_pid/status")
anon=$(sed -n 's/^RssAnon:\s*\([0-9]*\) kB/\1/p' "/proc/$exporter_pid/status")
echo
echo "exporter resident size with 2 plugins after 10,000 scrapes: ${rss} KiB (anonymous: ${anon} KiB)"
stop_pid "$exporter_pid"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
