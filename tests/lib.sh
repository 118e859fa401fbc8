# Sourced by the project's test and benchmark scripts: a private temporary directory, the
# PIDs a script started (each stopped by its PID at exit, also when the script fails; never
# by name), and a free loopback port found at run time.
tmp=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# A port that was free on 127.0.0.1 a moment ago (callers retry when a start races for it).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# A redis-server of our own (ANKLET_REDIS_SERVER, default /usr/bin/redis-server) on a free
# loopback port, without persistence, its PID in `pids`; sets `rport` once it answers PING.
start_redis() {
  local server=${ANKLET_REDIS_SERVER:-/usr/bin/redis-server} rpid
  rport=""
  for _ in 1 2 3 4 5; do
    rport=$(free_port)
    "$server" --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
      --logfile "$tmp/redis.log" --daemonize no &
    rpid=$!
    pids+=("$rpid")
    for _ in $(seq 100); do
      redis-cli -p "$rport" ping > /dev/null 2>&1 && return 0
      kill -0 "$rpid" 2>/dev/null || break
      sleep 0.05
    done
    rport=""
  done
  echo "FAIL: redis-server did not start" >&2
  exit 1
}

# Starts PROGRAM ARGS... in the background (stdout to $tmp/run.out, stderr to $tmp/run.err),
# its PID in `pid` and `pids`; waits up to 5 s for its first stdout line, left in `url`.
start_program() {
  local program=$1
  shift
  "$program" "$@" > "$tmp/run.out" 2> "$tmp/run.err" &
  pid=$!
  pids+=("$pid")
  url=""
  for _ in $(seq 100); do
    url=$(head -n 1 "$tmp/run.out" 2>/dev/null || true)
    [ -n "$url" ] && break
    sleep 0.05
  done
}

# The body of an HTTP GET, on stdout.
get() {
  python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"
}
