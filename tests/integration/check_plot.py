#!/usr/bin/env python3
"""Checks benchmarks/plot.py on Google Benchmark JSON files: the SVG is well-formed, has
one bar per benchmark that has a peer, each bar's tooltip carries the ratio of the two
real times read straight from the JSON, and bar lengths follow the log scale.

usage: check_plot.py PLOT.py RESULTS.json...
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def main():
    plot, paths = sys.argv[1], sys.argv[2:]
    times = {}
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for b in json.load(f)["benchmarks"]:
                if b.get("run_type") != "aggregate":
                    times[b["name"]] = b["real_time"]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "plot.svg")
        subprocess.run([sys.executable, plot, "-o", out, *paths], check=True, capture_output=True)
        root = ET.parse(out).getroot()
        # Without any pair the script must refuse rather than draw an empty chart.
        lonely = subprocess.run([sys.executable, plot, "-o", out, "--rule", "nothing=>matches", *paths],
                                capture_output=True)
        if lonely.returncode == 0:
            raise SystemExit("plot.py drew a chart without a single peer pair")

    problems = []
    per_decade = []
    bars = 0
    for g in root.iter(SVG + "g"):
        title = g.find(SVG + "title").text
        m = re.fullmatch(r"(.*) / (.*) = (\S+)", title)
        if not m:
            problems.append(f"unreadable bar title {title!r}")
            continue
        name, peer, shown = m.group(1), m.group(2), float(m.group(3))
        bars += 1
        if name not in times or peer not in times:
            problems.append(f"{name} vs {peer}: not both in the results")
            continue
        want = times[name] / times[peer]
        if abs(shown - want) > 1e-3 * want:
            problems.append(f"{name}: shows {shown}, the JSON gives {want:.4g}")
        width = float(g.find(SVG + "rect").get("width"))
        if abs(math.log10(want)) > 0.05:
            per_decade.append(width / abs(math.log10(want)))
    if bars == 0:
        problems.append("no bars")
    if per_decade and max(per_decade) > 1.02 * min(per_decade):
        problems.append(f"bar lengths are not proportional to log(ratio): {min(per_decade):.1f}..{max(per_decade):.1f} px/decade")
    for p in problems:
        print("FAIL:", p)
    if not problems:
        print(f"{bars} bars, each the ratio of its JSON times, on one log scale")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
