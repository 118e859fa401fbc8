#!/bin/bash
# HTTP benchmark: wrk against the exporter and, in the same run, against two peers serving
# the identical body on loopback: a small civetweb server (prometheus-cpp's embedded server;
# benchmarks/civetweb_peer.cpp) and nginx serving the bytes as a static file. For a 2-plugin
# and a 1000-plugin store it reports requests/s, p99 latency and the ratios, then the
# exporter's resident size with 2 plugins after 10,000 keep-alive scrapes.
#
# usage: benchmarks/http_bench.sh [BUILD_DIR]
#   DURATION=5 CONNECTIONS=16 THREADS=2 CIVETWEB_THREADS=16 benchmarks/http_bench.sh
# Machine-dependent: compare the ratios, which come from one run on one machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
duration=${DURATION:-5}
connections=${CONNECTIONS:-16}
wrk_threads=${THREADS:-2}
# One civetweb worker per connection: civetweb pins a thread to each keep-alive
# connection, so fewer threads would leave connections waiting and flatter us.
civetweb_threads=${CIVETWEB_THREADS:-$connections}
# The exporter runs one event loop per core (up to 4); nginx gets as many workers.
loops=$(nproc)
[ "$loops" -le 4 ] || loops=4

exporter=$build/examples/anklet-metrics-exporter
civetweb=$build/benchmarks/civetweb_peer
ninja -C "$build" examples/anklet-metrics-exporter >&2
if ninja -C "$build" -t targets all 2>/dev/null | grep -q '^benchmarks/civetweb_peer:'; then
  ninja -C "$build" benchmarks/civetweb_peer >&2
fi
for tool in wrk nginx python3; do
  command -v "$tool" > /dev/null || { echo "missing $tool (Debian packages: wrk nginx-light python3)" >&2; exit 1; }
done
have_civetweb=0
[ -x "$civetweb" ] && have_civetweb=1

# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../tests/support/lib.sh"
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

fetch() {  # URL FILE
  python3 -c 'import sys, urllib.request; open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1], timeout=5).read())' "$1" "$2"
}
wait_http() {  # URL
  for _ in $(seq 100); do
    fetch "$1" /dev/null 2> /dev/null && return 0
    sleep 0.05
  done
  echo "no answer from $1" >&2
  return 1
}

# Starts the exporter with N handlers; sets exporter_pid and exporter_port.
start_exporter() {
  local n=$1 args=() i line=""
  for ((i = 1; i <= n; i++)); do args+=(--handler "bench-handler-$i:github:bench-org:bench-repo"); done
  # A fresh file each time: the background shell truncates it only once it runs.
  rm -f "$tmp/exporter.out"
  : > "$tmp/exporter.out"
  "$exporter" --listen 127.0.0.1:0 "${args[@]}" > "$tmp/exporter.out" &
  exporter_pid=$!
  pids+=("$exporter_pid")
  for _ in $(seq 100); do
    line=$(head -n 1 "$tmp/exporter.out" 2> /dev/null || true)
    [ -n "$line" ] && break
    sleep 0.05
  done
  exporter_port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' <<< "$line")
  [ -n "$exporter_port" ] || { echo "exporter did not start: '$line'" >&2; exit 1; }
}

start_nginx() {  # BODY_FILE; sets nginx_pid and nginx_port
  nginx_port=$(free_port)
  mkdir -p "$tmp/nginx/www/metrics" "$tmp/nginx/logs"
  cp "$1" "$tmp/nginx/www/metrics/v1"
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

# Prints "REQ_PER_S P99_MS" for one wrk run (after a 1 s warm-up).
run_wrk() {
  wrk -t1 -c"$connections" -d1s "$1" > /dev/null
  wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" --latency "$1" > "$tmp/wrk.out"
  python3 - "$tmp/wrk.out" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
p99 = float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", text)
if errors:
    print(f"wrk reported: {errors.group(0)}", file=sys.stderr)
print(f"{rps:.0f} {p99:.2f}")
EOF
}

query="/metrics/v1?format=prometheus"
echo "wrk: $wrk_threads threads, $connections keep-alive connections, ${duration}s per run; $(nproc) CPUs"
echo "exporter: $loops event loops; nginx: $loops workers, sendfile; civetweb: $civetweb_threads threads"
echo
printf '| plugins | body bytes | server | requests/s | p99 ms | exporter ratio |\n'
printf '|---:|---:|---|---:|---:|---:|\n'
for plugins in 2 1000; do
  start_exporter "$plugins"
  wait_http "http://127.0.0.1:$exporter_port$query"
  fetch "http://127.0.0.1:$exporter_port$query" "$tmp/body.prom"
  size=$(stat -c %s "$tmp/body.prom")
  start_nginx "$tmp/body.prom"
  wait_http "http://127.0.0.1:$nginx_port$query"
  if [ "$have_civetweb" = 1 ]; then
    start_civetweb "$tmp/body.prom"
    wait_http "http://127.0.0.1:$civetweb_port$query"
  fi
  read -r ours_rps ours_p99 < <(run_wrk "http://127.0.0.1:$exporter_port$query")
  printf '| %s | %s | anklet-metrics-exporter | %s | %s | |\n' "$plugins" "$size" "$ours_rps" "$ours_p99"
  if [ "$have_civetweb" = 1 ]; then
    read -r rps p99 < <(run_wrk "http://127.0.0.1:$civetweb_port$query")
    printf '| %s | %s | civetweb %s | %s | %s | %s |\n' "$plugins" "$size" "$(dpkg-query -W -f='${Version}' libcivetweb-dev 2> /dev/null || true)" \
      "$rps" "$p99" "$(python3 -c "print(f'{$ours_rps / $rps:.2f}x')")"
    stop_pid "$civetweb_pid"
  else
    printf '| %s | %s | civetweb (not built: libcivetweb-dev missing) | | | |\n' "$plugins" "$size"
  fi
  read -r rps p99 < <(run_wrk "http://127.0.0.1:$nginx_port$query")
  printf '| %s | %s | nginx %s | %s | %s | %s |\n' "$plugins" "$size" "$(nginx -v 2>&1 | sed 's|.*/||')" \
    "$rps" "$p99" "$(python3 -c "print(f'{$ours_rps / $rps:.2f}x')")"
  stop_pid "$nginx_pid"
  stop_pid "$exporter_pid"
done

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
