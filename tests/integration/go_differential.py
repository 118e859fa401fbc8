#!/usr/bin/env python3
"""Differential test against Go: random metrics states rendered by our library
(tests/integration/go_differential.cpp) and by a Go program written from Go Anklet's own code paths
(tests/go_reference/reference.go), compared byte for byte: the format=anklet text and the
JSON payload that goes to Redis. Runs each state set under several time zones, since both
formats print local time.

usage: go_differential.py OUR_PROGRAM GO_SOURCE [--states N] [--seed S]
"""
import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

ZERO_TIME = -62135596800          # Go's zero time, 0001-01-01T00:00:00Z
LAST_SECOND = 253402300799        # 9999-12-31T23:59:59Z
STATUSES = ["idle", "paused", "pulling", "running", "in_progress", "stopped", "draining", "limit_paused"]
PIECES = ["RUNNER", "github", "veertuinc", "anklet", "a", "Zürich", "🚀", "\u2028", "<", ">", "&", '"', "\\", "\n",
          "\t", "=", ",", "{", "}", " ", "_receiver", "\x01", "%", "é"]
BAD_BYTES = [b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]


def text(rng, receiver=None):
    out = b""
    for _ in range(rng.randrange(0, 5)):
        if rng.random() < 0.1:
            out += rng.choice(BAD_BYTES)
        else:
            out += rng.choice(PIECES).encode()
    if receiver is True:
        out += b"_receiver"
    return out.hex()


def instant(rng):
    r = rng.random()
    if r < 0.25:
        return [ZERO_TIME, 0]
    if r < 0.35:  # the far ends Go writes, outside a nanosecond sys_time
        return [rng.choice([ZERO_TIME, ZERO_TIME + 1, -11660414400, 9223372037, 16725225600, LAST_SECOND - 86400]),
                rng.choice([0, 1, 999999999, 500000000])]
    if r < 0.45:
        return [rng.randrange(ZERO_TIME, LAST_SECOND - 86400), rng.randrange(0, 10**9)]
    return [1700000000 + rng.randrange(-10**8, 10**8), rng.choice([0, 0, rng.randrange(0, 10**9), 1000, 120000000])]


def double(rng):
    r = rng.random()
    if r < 0.4:
        v = rng.choice([0.0, -0.0, 1e-6, 9.99999e-7, 5e-7, 1e-5, 1e20, 1e21, 9.999999999999999e20, 123456789012345678.0,
                        12.371134020618557, 50.0, 100.0, 25.5, -3.25, 1.7976931348623157e308, 5e-324, 0.1, 2.5e-8,
                        1e-100, 4.0e15, 1e16, 33.333333333333336, -1e-7])
    elif r < 0.7:
        v = rng.uniform(0, 100)
    else:
        v = rng.choice([1, -1]) * 10 ** rng.uniform(-30, 30)
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def count(rng):
    return rng.choice([0, 1, 42, rng.randrange(0, 10**6), rng.randrange(0, 2**53)])


def plugin(rng):
    handler = rng.random() < 0.6
    p = {"handler": handler, "name": text(rng), "plugin": text(rng, rng.random() < 0.4 or None), "owner": text(rng),
         "repo": text(rng) if rng.random() < 0.5 else "", "status": rng.choice(STATUSES), "since": instant(rng)}
    never = [ZERO_TIME, 0]
    for t, url in (("ls", "ls_url"), ("lf", "lf_url"), ("lc", "lc_url")):
        p[t] = instant(rng) if handler else never
        p[url] = text(rng) if handler else ""
    for c in ("ran", "succ", "fail", "canc"):
        p[c] = count(rng) if handler else 0
    return p


def state(rng):
    return {
        "last_update": instant(rng),
        "totals": [count(rng) for _ in range(4)],
        "host": {"cpu_count": rng.randrange(0, 256), "cpu_used_count": rng.randrange(0, 256),
                 "cpu_usage_bits": double(rng), "memory_total": count(rng), "memory_used": count(rng),
                 "memory_available": count(rng), "memory_usage_bits": double(rng), "disk_total": count(rng),
                 "disk_used": count(rng), "disk_available": count(rng), "disk_usage_bits": double(rng)},
        "plugins": [plugin(rng) for _ in range(rng.randrange(1, 5))],
    }


def run(cmd, states, tz):
    env = dict(os.environ, TZ=tz)
    out = subprocess.run(cmd, input=states, capture_output=True, check=True, env=env, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ours")
    ap.add_argument("go_source")
    ap.add_argument("--states", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20261203)
    args = ap.parse_args()

    go = shutil.which("go")
    if go is None:
        print("FAIL: the go command is missing (Debian's golang-go; tests/deps.sh installs it)")
        return 1
    rng = random.Random(args.seed)
    states = [state(rng) for _ in range(args.states)]
    lines = "".join(json.dumps(s) + "\n" for s in states)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GOCACHE=os.path.join(tmp, "cache"), GOPATH=os.path.join(tmp, "path"),
                   GO111MODULE="off", GOFLAGS="", CGO_ENABLED="0")
        reference = os.path.join(tmp, "reference")
        subprocess.run([go, "build", "-o", reference, args.go_source], check=True, env=env)
        for tz in ("UTC", "Etc/GMT-5", "America/St_Johns", "Europe/Berlin"):
            ours = run([args.ours], lines, tz)
            theirs = run([reference], lines, tz)
            assert len(ours) == len(theirs) == len(states)
            for i, (a, b) in enumerate(zip(ours, theirs)):
                for kind in ("text", "payload"):
                    if a[kind] != b[kind]:
                        failures += 1
                        if failures <= 5:
                            print(f"MISMATCH in {kind}, TZ={tz}, state {i}: {json.dumps(states[i])}")
                            print("  ours:", bytes.fromhex(a[kind])[:4000])
                            print("  go:  ", bytes.fromhex(b[kind])[:4000])
            print(f"TZ={tz}: {len(states)} states compared")
    total = args.states * 4 * 2
    print(f"{total - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
