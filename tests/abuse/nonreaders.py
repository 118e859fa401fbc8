#!/usr/bin/env python3
"""Clients that ask the exporter for a large body and never read it (kernel memory pinned
by stalled connections). Starts EXPORTER with 700 plugins (a body of about 1 MB), holds N
such clients for a second, then prints the server's send queues (/proc/net/tcp), the
kernel's TCP memory (/proc/net/sockstat) and the latency of 50 full scrapes meanwhile.
Linux only. Usage: nonreaders.py EXPORTER [N]"""
import socket
import subprocess
import sys
import time

PATH = "/metrics/v1?format=prometheus"


def sockstat_tcp_bytes():
    for line in open("/proc/net/sockstat"):
        if line.startswith("TCP:"):
            f = line.split()
            return int(f[f.index("mem") + 1]) * 4096
    return 0


def send_queues(port):
    total = 0
    for line in open("/proc/net/tcp").readlines()[1:]:
        f = line.split()
        if int(f[1].split(":")[1], 16) == port and f[3] == "01":
            total += int(f[4].split(":")[0], 16)
    return total


def scrape(port):
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(f"GET {PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    size = 0
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        size += len(chunk)
    s.close()
    return time.monotonic() - t0, size


def main():
    exe = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    args = [exe, "--listen", "127.0.0.1:0"]
    for i in range(700):
        args += ["--handler", f"RUNNER{i:04d}:github:veertuinc"]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = p.stdout.readline().split()[-1]
        port = int(url.split(":")[2].split("/")[0])
        _, size = scrape(port)
        mem_before = sockstat_tcp_bytes()
        held = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(f"GET {PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            held.append(s)
        time.sleep(1)
        queued = send_queues(port)
        mem_during = sockstat_tcp_bytes()
        times = sorted(scrape(port)[0] * 1000 for _ in range(50))
        print(f"body {size} B; {n} non-readers: server send queues {queued / 1e6:.1f} MB "
              f"({queued / n / 1e3:.0f} kB each); kernel TCP memory {mem_before / 1e6:.1f} -> "
              f"{mem_during / 1e6:.1f} MB; scrape p50 {times[25]:.1f} ms, p99 {times[49]:.1f} ms")
        for s in held:
            s.close()
    finally:
        p.terminate()
        p.wait()


if __name__ == "__main__":
    main()
