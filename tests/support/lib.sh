# Sourced by the project's test and benchmark scripts: a private temporary directory, the
# PIDs a script started (each stopped by its PID at exit, also when the script fails; never
# by name), fail() for failed checks, and a free loopback port found at run time.
tmp=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# A failed check, said on stderr. The script goes on, so that one run reports every failure,
# and ends with `exit "$status"`. A script whose later steps need what failed sets
# fail_fast=1 after sourcing this file: then fail also shows the last lines of every
# $tmp/*.log and exits 1.
status=0
fail_fast=0
# shellcheck disable=SC2034  # status is read by the sourcing script's exit
fail() {
  echo "FAIL: $*" >&2
  status=1
  if [ "$fail_fast" = 1 ]; then
    local log
    for log in "$tmp"/*.log; do
      [ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
    done
    exit 1
  fi
}

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
  # Emptied here, not only by the child's redirection: until the child runs, the loop below
  # would read the previous program's first line.
  : > "$tmp/run.out"
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

# A Redis Cluster of our own: 3 masters and 3 replicas (redis-server children on free loopback
# ports whose bus ports, port + 10000, are free too), formed by redis-cli --cluster create,
# every PID in `pids`. Sets `cports` (the nodes' ports) once every node reports cluster_state:ok.
start_redis_cluster() {
  local server=${ANKLET_REDIS_SERVER:-/usr/bin/redis-server} i p dir addrs=()
  cports=()
  for i in 0 1 2 3 4 5; do
    for _ in $(seq 50); do
      p=$(free_port)
      [ "$p" -le 55535 ] && python3 -c 'import socket, sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' \
        "$((p + 10000))" 2>/dev/null && break
    done
    dir="$tmp/node$p"
    mkdir -p "$dir"
    "$server" --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --logfile "$dir/redis.log" \
      --daemonize no --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 500 \
      --repl-diskless-sync-delay 0 &
    pids+=("$!")
    cports+=("$p")
    addrs+=("127.0.0.1:$p")
  done
  for p in "${cports[@]}"; do
    for _ in $(seq 100); do redis-cli -p "$p" ping > /dev/null 2>&1 && break; sleep 0.05; done
  done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes > "$tmp/cluster-create.log" 2>&1 ||
    { echo "FAIL: redis-cli --cluster create: $(tail -5 "$tmp/cluster-create.log")" >&2; exit 1; }
  for _ in $(seq 200); do
    local ok=1
    for p in "${cports[@]}"; do
      redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || ok=0
    done
    [ "$ok" = 1 ] && return 0
    sleep 0.1
  done
  echo "FAIL: the cluster did not reach cluster_state:ok" >&2
  exit 1
}
