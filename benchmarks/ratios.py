#!/usr/bin/env python3
"""Runs a Google Benchmark program and prints each result as a ratio to its peer from the
same run, which is what stays meaningful on a shared, noisy machine.

usage: ratios.py BENCH_BINARY RULE... [-- extra benchmark args]
       ratios.py --from-json RESULTS.json RULE...   (a run saved with --benchmark_out)
A RULE is 'REGEX=>PEER': a benchmark whose whole name matches REGEX is compared with
the benchmark named PEER, in which \\1, \\2... stand for REGEX's groups, e.g.
'(?:increment|set_status)_by_\\w+<(.*)>/\\d+=>bare_lock<\\1>'.

The peer rules are also used by plot.py (import this module): parse_rules, load_results
and peer_ratio.
"""
import json
import re
import subprocess
import sys


def parse_rules(specs):
    """'REGEX=>PEER' strings -> [(compiled REGEX, PEER template)]."""
    rules = []
    for spec in specs:
        if "=>" not in spec:
            raise ValueError(f"rule {spec!r} lacks '=>'")
        regex, peer = spec.split("=>", 1)
        rules.append((re.compile(regex), peer))
    return rules


def load_results(document):
    """Google Benchmark JSON (text or parsed) -> {name: benchmark}, aggregates left out."""
    if isinstance(document, str):
        document = json.loads(document)
    return {b["name"]: b for b in document["benchmarks"] if b.get("run_type") != "aggregate"}


def peer_ratio(name, results, rules):
    """(peer name, real_time ratio to it) by the first rule that matches `name` and whose
    peer is in `results`; None when there is none."""
    for rule, peer in rules:
        m = rule.fullmatch(name)
        if m and m.expand(peer) in results:
            peer_name = m.expand(peer)
            return peer_name, results[name]["real_time"] / results[peer_name]["real_time"]
    return None


def main() -> int:
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1:]
        args = args[: args.index("--")]
    if args[0] == "--from-json":
        with open(args[1], encoding="utf-8") as saved:
            results = load_results(saved.read())
        rules = parse_rules(args[2:])
    else:
        binary, rules = args[0], parse_rules(args[1:])
        out = subprocess.run([binary, "--benchmark_format=json", *extra], check=True, capture_output=True, text=True)
        results = load_results(out.stdout)

    print(f"{'benchmark':58} {'ns':>10} {'MB/s':>8}  {'peer':44} {'ratio':>6}")
    for name, b in results.items():
        mbps = f"{b['bytes_per_second'] / 1e6:8.0f}" if b.get("bytes_per_second") else " " * 8
        line = f"{name:58} {b['real_time']:10.1f} {mbps}"
        found = peer_ratio(name, results, rules)
        if found:
            line += f"  {found[0]:44} {found[1]:6.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
