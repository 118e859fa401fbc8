#!/bin/bash
# The exporter under a low descriptor limit (issue: systemd's services get 1024) with more
# idle connections than descriptors: a scrape still answers 200 with real host figures,
# descriptors stay below the limit, and refused accepts are logged rate-limited, not in a
# loop. Prints the figures docs/reliability.md quotes (fds before/peak/after, scrape p99).
# Usage: exporter_fd_limit.sh EXPORTER [LIMIT] [IDLE]
set -uo pipefail
exporter=${1:?exporter path}
limit=${2:-256}
idle=${3:-$((limit * 3 / 2))}
# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
fds() { find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2> /dev/null | wc -l; }

# Only the exporter gets the low limit; the clients below need more than it has.
# shellcheck disable=SC2016
start_program bash -c 'ulimit -n "$1" && exec "$2" --listen 127.0.0.1:0 --handler RUNNER1:github:veertuinc' \
  _ "$limit" "$exporter"
[ -n "$url" ] || { echo "FAIL: no first line; stderr: $(cat "$tmp/run.err")" >&2; exit 1; }
url=${url#listening on }
before=$(fds)

# Holds IDLE connections that never send a byte, then scrapes 40 times meanwhile; prints
# "peak_fds p50_ms p99_ms" (the exporter's descriptors sampled while the clients are held).
python3 - "$url" "$idle" "$pid" > "$tmp/attack.out" 2> "$tmp/attack.err" << 'EOF' || fail "attack: $(cat "$tmp/attack.err")"
import os, socket, sys, time, urllib.parse
url, idle, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
u = urllib.parse.urlsplit(url)
addr = (u.hostname, u.port)
def nfds():
    return len(os.listdir(f"/proc/{pid}/fd"))
def scrape():
    t0 = time.monotonic()
    s = socket.create_connection(addr, timeout=3)
    s.sendall(f"GET {u.path}?{u.query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return time.monotonic() - t0, data.decode(errors="replace")
_, body = scrape()
if "host_memory_total_bytes " not in body:
    sys.exit("no host figures before the attack")
held = []
for _ in range(idle):
    held.append(socket.create_connection(addr, timeout=3))
peak = nfds()
time.sleep(0.3)
times = []
for i in range(40):
    took, body = scrape()
    peak = max(peak, nfds())
    head, _, rest = body.partition("\r\n\r\n")
    if not head.startswith("HTTP/1.1 200"):
        sys.exit(f"scrape {i}: {head.splitlines()[0] if head else 'no answer'}")
    mem = [l for l in rest.splitlines() if l.startswith("host_memory_total_bytes ")]
    if not mem or float(mem[0].split()[1]) == 0:
        sys.exit(f"scrape {i}: host_memory_total_bytes is {mem}")
    times.append(took * 1000)
for s in held:
    s.close()
times.sort()
print(peak, round(times[len(times) // 2], 1), round(times[int(len(times) * 0.99)], 1))
EOF
read -r peak p50 p99 < "$tmp/attack.out" || true
sleep 0.5
after=$(fds)
echo "limit $limit, $idle idle clients: fds before $before, peak ${peak:-?}, after $after; scrape p50 ${p50:-?} ms, p99 ${p99:-?} ms"
[ -n "${peak:-}" ] && [ "$peak" -lt "$limit" ] || fail "descriptors reached ${peak:-?} of $limit"
[ "$after" -le $((before + 2)) ] || fail "descriptors after the attack: $after (before: $before)"
grep -q 'host metrics' "$tmp/run.err" && fail "a host source failed: $(grep 'host metrics' "$tmp/run.err" | head -1)"
refused=$(grep -c 'accept failed' "$tmp/run.err")
[ "$refused" -le 10 ] || fail "$refused 'accept failed' lines: not rate-limited"
kill -0 "$pid" 2> /dev/null || fail "the exporter died: $(cat "$tmp/run.err")"
exit "$status"
