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
