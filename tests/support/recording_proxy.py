#!/usr/bin/env python3
"""An HTTP/1.1 relay for tests that need to see what a real client and server said to each
other: it forwards each request of a client (e.g. Prometheus) to one upstream on 127.0.0.1
and the answer back, unchanged, and logs one line per exchange: the request's
Accept-Encoding, the answer's status, Content-Encoding and body length. Requests are taken
to have no body and answers to carry Content-Length, as our servers' do.

Usage: recording_proxy.py UPSTREAM_PORT PORT_FILE LOG
Binds 127.0.0.1 on a free port and writes it to PORT_FILE once it listens."""
import socket
import sys
import threading


def read_head(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


def header(head, name):
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().decode("latin-1")
    return ""


def relay(client, upstream_port, log, lock):
    with client, socket.create_connection(("127.0.0.1", upstream_port), timeout=30) as up:
        from_client = from_up = b""
        while True:
            head, from_client = read_head(client, from_client)
            if head is None:
                return
            up.sendall(head + b"\r\n\r\n")
            answer, from_up = read_head(up, from_up)
            if answer is None:
                return
            length = int(header(answer, b"content-length") or 0)
            while len(from_up) < length:
                chunk = up.recv(65536)
                if not chunk:
                    return
                from_up += chunk
            body, from_up = from_up[:length], from_up[length:]
            client.sendall(answer + b"\r\n\r\n" + body)
            status = answer.split(b" ", 2)[1].decode()
            line = (f"accept-encoding={header(head, b'accept-encoding')!r} status={status} "
                    f"content-encoding={header(answer, b'content-encoding')!r} bytes={length}\n")
            with lock, open(log, "a", encoding="utf-8") as f:
                f.write(line)


def main():
    upstream_port, port_file, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    lock = threading.Lock()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    with open(port_file + ".tmp", "w", encoding="utf-8") as f:
        f.write(str(listener.getsockname()[1]))
    import os
    os.replace(port_file + ".tmp", port_file)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=relay, args=(client, upstream_port, log, lock), daemon=True).start()


if __name__ == "__main__":
    main()
