#!/usr/bin/env python3
"""Runs a Google Benchmark program and prints each result as a ratio to its peer from the
same run, which is what stays meaningful on a shared, noisy machine.

usage: ratios.py BENCH_BINARY RULE... [-- extra benchmark args]
A RULE is 'REGEX=>PEER': a benchmark whose whole name matches REGEX is compared with
the benchmark named PEER, in which \\1, \\2... stand for REGEX's groups, e.g.
'(?:increment|set_status)_by_\\w+<(.*)>/\\d+=>bare_lock<\\1>'.
"""
import json
import re
import subprocess
import sys


def main() -> int:
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1:]
        args = args[: args.index("--")]
    binary, rules = args[0], [re.compile(r.split("=>", 1)[0]) for r in args[1:]]
    peers = [r.split("=>", 1)[1] for r in args[1:]]
    out = subprocess.run([binary, "--benchmark_format=json", *extra], check=True, capture_output=True, text=True)
    results = {b["name"]: b for b in json.loads(out.stdout)["benchmarks"] if b.get("run_type") != "aggregate"}

    print(f"{'benchmark':58} {'ns':>10} {'MB/s':>8}  {'peer':44} {'ratio':>6}")
    for name, b in results.items():
        mbps = f"{b['bytes_per_second'] / 1e6:8.0f}" if b.get("bytes_per_second") else " " * 8
        line = f"{name:58} {b['real_time']:10.1f} {mbps}"
        for rule, peer in zip(rules, peers):
            m = rule.fullmatch(name)
            if m and m.expand(peer) in results:
                peer_name = m.expand(peer)
                line += f"  {peer_name:44} {b['real_time'] / results[peer_name]['real_time']:6.2f}"
                break
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
