#!/usr/bin/env python3
"""HTTP abuse suite: the exporter under hostile and careless clients (issue 5).

Starts the exporter (--listen 127.0.0.1:0 --demo), then for DURATION seconds runs at once,
each kind of client in its own process so that Python's GIL does not blur the timings:
  idle        IDLE connections opened and held without a byte (reopened when dropped)
  slowloris   requests dribbled one byte every 200 ms
  random      connections that send random bytes and read whatever comes back
  halfclosed  a partial request, then shutdown(SHUT_WR); the server must close
  pipelined   bursts of 50 pipelined GETs on one connection, read back in full
while a well-behaved scraper opens a new connection every 100 ms and GETs
/metrics/v1?format=prometheus. It asserts that every scrape was answered 200 with a
valid exposition body, that the p99 scrape latency stays under a bound, that the
exporter's peak RSS (VmHWM) stays under a bound, and that once every client is gone the
exporter's open descriptors return to the count before the abuse (no fd leak).

Standard library only. Usage:
  http_abuse.py EXPORTER [--duration S] [--idle N] [--json FILE] [--sanitized]
Exit status 0 when every check held, 1 otherwise; the figures are printed and, with
--json, written for docs/reliability.md.
"""
import argparse
import json
import multiprocessing as mp
import os
import random
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SCRAPE_PATH = "/metrics/v1?format=prometheus"
SAMPLE_RE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEIinfNa]+$')


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Reader:
    """Buffered reader of HTTP/1.1 responses with Content-Length (pipelining keeps the rest)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self, deadline, what):
        self.sock.settimeout(max(0.001, deadline - time.monotonic()))
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed " + what)
        self.buf += chunk

    def response(self, deadline):
        """Returns (status, headers, body) of the next response."""
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline, "before the response head")
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill(deadline, "inside the body")
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body


def body_problem(body):
    """None when body is a plausible Prometheus exposition of the demo store."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if not text.endswith("\n"):
        return "body does not end with a newline"
    samples = 0
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if not SAMPLE_RE.match(line):
            return "bad sample line: %r" % line[:120]
        samples += 1
    if samples == 0 or "# TYPE " not in text:
        return "no samples"
    if "plugin_status{" not in text:
        return "the demo plugins are missing"
    return None


# ---- abusive clients, each run in its own process until `stop` is set ----------------------

def idle_clients(port, count, stop, out):
    limit = raise_fd_limit(count + 64)
    count = min(count, limit - 64)
    socks = {}
    opened = dropped = failed = 0
    while not stop.is_set():
        while len(socks) < count and not stop.is_set():
            try:
                s = connect(port, timeout=2.0)
            except OSError:
                failed += 1
                time.sleep(0.01)
                break
            socks[s.fileno()] = s
            opened += 1
        # A dropped connection (503, eviction or read timeout) reads as EOF: reopen it.
        poller = select.poll()
        for fd in socks:
            poller.register(fd, select.POLLIN)
        for fd, _ in poller.poll(200):
            s = socks[fd]
            try:
                s.recv(4096)
            except OSError:
                pass
            socks.pop(s.fileno(), None)
            s.close()
            dropped += 1
    held = len(socks)
    for s in socks.values():
        s.close()
    out.put(("idle", {"target": count, "opened": opened, "dropped_by_server": dropped,
                      "connect_failures": failed, "held_at_end": held}))


def slowloris(port, stop, out, clients=4):
    request = ("GET %s HTTP/1.1\r\nHost: abuse\r\nUser-Agent: slowloris\r\n"
               "X-Padding: %s\r\n\r\n" % (SCRAPE_PATH, "a" * 200)).encode()
    conns = []
    sent_bytes = closed_by_server = answered = 0
    while not stop.is_set():
        while len(conns) < clients:
            try:
                conns.append([connect(port), 0, time.monotonic()])
            except OSError:
                time.sleep(0.05)
                break
        for c in list(conns):
            sock, pos, _ = c
            try:
                sock.send(request[pos:pos + 1])
                sent_bytes += 1
                c[1] += 1
                if c[1] == len(request):
                    answered += 1
                    conns.remove(c)
                    sock.close()
            except OSError:
                closed_by_server += 1
                conns.remove(c)
                sock.close()
        stop.wait(0.2)
    for c in conns:
        c[0].close()
    out.put(("slowloris", {"clients": clients, "bytes_dribbled": sent_bytes,
                           "closed_by_server": closed_by_server, "completed_requests": answered}))


def random_bytes(port, stop, out, seed):
    rng = random.Random(seed)
    conns = sent = answered_4xx = other = 0
    while not stop.is_set():
        try:
            s = connect(port, timeout=2.0)
        except OSError:
            time.sleep(0.01)
            continue
        conns += 1
        payload = rng.randbytes(rng.choice([1, 16, 512, 4096, 65536]))
        try:
            s.sendall(payload)
            sent += len(payload)
            s.settimeout(2.0)
            reply = s.recv(64)
            if re.match(rb"HTTP/1\.[01] 4\d\d", reply):
                answered_4xx += 1
            else:
                other += 1
        except OSError:
            other += 1  # reset or timeout after garbage: acceptable, the server owes nothing
        s.close()
        stop.wait(0.005)
    out.put(("random", {"connections": conns, "bytes_sent": sent, "answered_4xx": answered_4xx,
                        "closed_or_reset": other}))


def half_closed(port, stop, out):
    partials = [b"GET /metrics/v1?format=prom", b"GET /metrics/v1 HTTP/1.1\r\nHost: x\r\n",
                b"POST /metrics/v1 HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc", b"G"]
    conns = closed = not_closed = 0
    worst = 0.0
    while not stop.is_set():
        try:
            s = connect(port, timeout=2.0)
        except OSError:
            time.sleep(0.01)
            continue
        conns += 1
        t0 = time.monotonic()
        try:
            s.sendall(random.choice(partials))
            s.shutdown(socket.SHUT_WR)
            s.settimeout(3.0)
            while s.recv(65536):
                pass
            closed += 1
            worst = max(worst, time.monotonic() - t0)
        except socket.timeout:
            not_closed += 1
        except OSError:  # a reset closes it too (unread bytes at close, or the 503 path)
            closed += 1
            worst = max(worst, time.monotonic() - t0)
        s.close()
        stop.wait(0.01)
    out.put(("halfclosed", {"connections": conns, "closed_by_server": closed,
                            "not_closed_within_3s": not_closed, "worst_close_ms": round(worst * 1000, 1)}))


def pipelined(port, stop, out, burst=50):
    one = ("GET %s HTTP/1.1\r\nHost: abuse\r\n\r\n" % SCRAPE_PATH).encode()
    requests = answered = errors = 0
    while not stop.is_set():
        try:
            s = connect(port, timeout=5.0)
            s.sendall(one * burst)
            requests += burst
            deadline = time.monotonic() + 10
            reader = Reader(s)
            for _ in range(burst):
                status, _, _ = reader.response(deadline)
                if status == 200:
                    answered += 1
                else:
                    errors += 1
            s.close()
        except (OSError, ConnectionError, ValueError):
            errors += 1
    out.put(("pipelined", {"burst": burst, "requests": requests, "answered_200": answered,
                           "errors": errors}))


# ---- the exporter and the well-behaved scraper ----------------------------------------------

def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def scrape(port):
    t0 = time.monotonic()
    s = connect(port, timeout=5.0)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: scraper\r\nConnection: close\r\n\r\n" % SCRAPE_PATH).encode())
        status, _, body = Reader(s).response(t0 + 5.0)
    finally:
        s.close()
    return status, body, time.monotonic() - t0


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("exporter")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--idle", type=int, default=1000)
    ap.add_argument("--json")
    ap.add_argument("--sanitized", action="store_true",
                    help="the exporter is built with sanitizers: wider latency and memory bounds")
    args = ap.parse_args()
    p99_bound_ms = 500.0 if args.sanitized else 100.0
    rss_bound_mib = 512.0 if args.sanitized else 64.0

    # stderr to a file and stdout drained: a full pipe would block the exporter mid-test.
    errlog = tempfile.TemporaryFile()
    proc = subprocess.Popen([args.exporter, "--listen", "127.0.0.1:0", "--demo"],
                            stdout=subprocess.PIPE, stderr=errlog)
    failures = []
    result = {"duration_s": args.duration, "p99_bound_ms": p99_bound_ms, "rss_bound_mib": rss_bound_mib}
    stop = mp.Event()
    workers = []
    try:
        first = proc.stdout.readline().decode()
        m = re.search(r"listening on http://[^ ]*:(\d+)/", first)
        if not m:
            raise SystemExit("exporter did not print its URL: %r" % first)
        port = int(m.group(1))
        threading.Thread(target=lambda: proc.stdout.read(), daemon=True).start()

        status, body, _ = scrape(port)
        if status != 200 or body_problem(body):
            raise SystemExit("exporter is not serving before the abuse: %s %s" % (status, body_problem(body)))
        time.sleep(0.2)
        baseline_fds = fd_count(proc.pid)
        result["baseline_fds"] = baseline_fds

        out = mp.Queue()
        specs = [(idle_clients, (port, args.idle, stop, out)),
                 (slowloris, (port, stop, out)),
                 (random_bytes, (port, stop, out, 1)),
                 (random_bytes, (port, stop, out, 2)),
                 (half_closed, (port, stop, out)),
                 (pipelined, (port, stop, out))]
        for fn, fargs in specs:
            w = mp.Process(target=fn, args=fargs, daemon=True)
            w.start()
            workers.append(w)
        time.sleep(1.0)  # let the idle connections pile up before the scraper starts

        latencies = []
        bad = []
        scrapes = 0
        peak_fds = 0
        end = time.monotonic() + args.duration
        next_at = time.monotonic()
        while time.monotonic() < end:
            scrapes += 1
            try:
                status, body, took = scrape(port)
                latencies.append(took)
                problem = None if status == 200 else "status %d" % status
                problem = problem or body_problem(body)
                if problem:
                    bad.append(problem)
            except (OSError, ConnectionError, ValueError) as e:
                bad.append("%s: %s" % (type(e).__name__, e))
            peak_fds = max(peak_fds, fd_count(proc.pid))
            next_at += 0.1
            time.sleep(max(0.0, next_at - time.monotonic()))

        stop.set()
        clients = {}
        for _ in workers:
            name, figures = out.get(timeout=30)
            if name in clients:  # two random-bytes clients: add up
                figures = {k: clients[name][k] + v for k, v in figures.items()}
            clients[name] = figures
        for w in workers:
            w.join(timeout=10)
        result["clients"] = clients

        # With every client gone the exporter must drop back to its baseline descriptors.
        settle_deadline = time.monotonic() + 5.0
        fds_after = fd_count(proc.pid)
        while fds_after != baseline_fds and time.monotonic() < settle_deadline:
            time.sleep(0.05)
            fds_after = fd_count(proc.pid)
        status, body, _ = scrape(port)
        if status != 200:
            failures.append("scrape after the abuse answered %d" % status)
        time.sleep(0.1)
        fds_after = fd_count(proc.pid)

        result.update({
            "scrapes": scrapes,
            "scrapes_ok": scrapes - len(bad),
            "scrape_failures": bad[:10],
            "latency_ms_p50": round(percentile(latencies, 50) * 1000, 2) if latencies else None,
            "latency_ms_p99": round(percentile(latencies, 99) * 1000, 2) if latencies else None,
            "latency_ms_max": round(max(latencies) * 1000, 2) if latencies else None,
            "peak_rss_mib": round(vm_hwm_kib(proc.pid) / 1024.0, 1),
            "peak_fds": peak_fds,
            "fds_after": fds_after,
        })
        if bad:
            failures.append("%d of %d scrapes failed, first: %s" % (len(bad), scrapes, bad[0]))
        if scrapes < args.duration * 5:
            failures.append("only %d scrapes in %.0f s" % (scrapes, args.duration))
        if latencies and result["latency_ms_p99"] >= p99_bound_ms:
            failures.append("p99 latency %.1f ms >= %.0f ms" % (result["latency_ms_p99"], p99_bound_ms))
        if result["peak_rss_mib"] >= rss_bound_mib:
            failures.append("peak RSS %.1f MiB >= %.0f MiB" % (result["peak_rss_mib"], rss_bound_mib))
        if fds_after != baseline_fds:
            failures.append("open descriptors %d after the abuse, %d before" % (fds_after, baseline_fds))
        hc = clients.get("halfclosed", {})
        if hc.get("not_closed_within_3s", 0):
            failures.append("%d half-closed connections were not closed by the server" % hc["not_closed_within_3s"])
        if proc.poll() is not None:
            failures.append("the exporter exited with %s" % proc.returncode)
    finally:
        stop.set()
        for w in workers:
            if w.is_alive():
                w.join(timeout=5)
            if w.is_alive():
                os.kill(w.pid, signal.SIGKILL)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        errlog.seek(0)
        err = errlog.read().decode(errors="replace")
        if proc.returncode not in (0, -signal.SIGTERM, None):
            failures.append("exporter exit status %s: %s" % (proc.returncode, err[-2000:]))

    result["failures"] = failures
    result["passed"] = not failures
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
