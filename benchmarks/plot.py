#!/usr/bin/env python3
"""Draws Google Benchmark results as an SVG bar chart of each benchmark's time relative to
its peer from the same run (the ratios ratios.py prints, with its peer rules), on a log
scale centred on 1. Ratios to a same-run peer are what stay meaningful on a shared, noisy
machine; absolute times are in the JSON files and in ratios.py's table.

usage: plot.py [-o OUT.svg] [--rule 'REGEX=>PEER']... [RESULTS.json...]
  RESULTS.json  Google Benchmark output (--benchmark_format=json or --benchmark_out);
                default: benchmarks/results/*.json
  -o            output file (default docs/benchmarks.svg); '-' writes to stdout
  --rule        a peer rule as in ratios.py; repeatable; replaces the default rules

Default rules: the store's updates against a bare lock/unlock of the same lock, and the
Prometheus renderer against an iostream renderer of the identical text.

Hand-written SVG, no plotting library: it runs wherever Python 3 does.
"""
import argparse
import glob
import html
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ratios  # noqa: E402  (the peer rules and their matching live there)

DEFAULT_RULES = [
    r"(?:increment|set_status)_by_\w+<(.*)>/\d+=>bare_lock<\1>",
    r"prometheus_ours/(\d+)=>prometheus_iostream/\1",
]

# Layout, in SVG user units (px); the label column grows with the longest name.
CHAR_W = 6.8  # a generous average advance of the 12 px sans-serif font
PLOT_W = 400
ROW_H = 22
TOP = 70
FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"


def collect(paths, rules):
    """[(title, context, [(name, peer, ratio)])] per results file, in file order."""
    sections = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        document = ratios.json.loads(text)
        results = ratios.load_results(document)
        rows = []
        for name in results:
            found = ratios.peer_ratio(name, results, rules)
            if found:
                rows.append((name, found[0], found[1]))
        context = document.get("context", {})
        title = os.path.basename(context.get("executable", "")) or os.path.splitext(os.path.basename(path))[0]
        sections.append((title, context, rows))
    return sections


def log_domain(values):
    """Powers of ten around every ratio and 1."""
    lo = min([1.0] + [v for v in values if v > 0])
    hi = max([1.0] + values)
    return 10.0 ** math.floor(math.log10(lo) - 1e-9), 10.0 ** math.ceil(math.log10(hi) + 1e-9)


def ratio_text(r):
    return f"{r:.3g}\u00d7" if r < 10 else f"{r:.0f}\u00d7"


def render(sections, source_note):
    ratios_all = [r for _, _, rows in sections for _, _, r in rows]
    if not ratios_all:
        raise SystemExit("no benchmark has a peer under the given rules: nothing to plot")
    lo, hi = log_domain(ratios_all)
    span = math.log10(hi) - math.log10(lo)
    longest = max(len(f"{name} vs {peer}") for _, _, rows in sections for name, peer, _ in rows)
    label_w = int(20 + longest * CHAR_W)
    plot_x = label_w + 60  # room for a ratio written left of its bar
    width = plot_x + PLOT_W + 70

    def x_of(v):
        return plot_x + (math.log10(v) - math.log10(lo)) / span * PLOT_W

    rows_total = sum(len(rows) + 2 for _, _, rows in sections)
    height = TOP + rows_total * ROW_H + 50
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
           f"viewBox='0 0 {width} {height}' {FONT} font-size='12' xml:space='preserve'>",
           f"<rect width='{width}' height='{height}' fill='white'/>",
           "<text x='10' y='24' font-size='16' font-weight='bold'>Time relative to a peer in the same run</text>",
           "<text x='10' y='44' fill='#555'>log scale; left of 1: faster than the peer, right of 1: slower. "
           f"{html.escape(source_note)}</text>"]

    # Grid: every power of ten in the domain, with 2x and 5x minor lines.
    grid_bottom = height - 40
    decade = lo
    while decade <= hi * 1.0001:
        for k, minor in ((1, False), (2, True), (5, True)):
            v = decade * k
            if v > hi * 1.0001:
                break
            x = x_of(v)
            out.append(f"<line x1='{x:.1f}' y1='{TOP - 8}' x2='{x:.1f}' y2='{grid_bottom}' "
                       f"stroke='{'#eee' if minor else '#ccc'}'/>")
            if not minor:
                label = f"{v:g}\u00d7"
                out.append(f"<text x='{x:.1f}' y='{grid_bottom + 16}' text-anchor='middle' fill='#555'>{label}</text>")
        decade *= 10
    x1 = x_of(1.0)

    y = TOP
    for title, context, rows in sections:
        cpu = ""
        if context.get("num_cpus"):
            cpu = f" \u2014 {context['num_cpus']} CPUs at {context.get('mhz_per_cpu', '?')} MHz, {context.get('date', '')}"
        out.append(f"<text x='10' y='{y + 14}' font-weight='bold'>{html.escape(title)}"
                   f"<tspan font-weight='normal' fill='#555'>{html.escape(cpu)}</tspan></text>")
        y += ROW_H
        for name, peer, r in rows:
            xr = x_of(r) if r > 0 else plot_x
            left, right = min(x1, xr), max(x1, xr)
            colour = "#3a7d44" if r <= 1 else "#c0642f"
            out.append(f"<g><title>{html.escape(name)} / {html.escape(peer)} = {r:.4g}</title>")
            out.append(f"<text x='{label_w}' y='{y + 15}' text-anchor='end'>{html.escape(name)}"
                       f"<tspan fill='#777'> vs {html.escape(peer)}</tspan></text>")
            out.append(f"<rect x='{left:.1f}' y='{y + 4}' width='{max(right - left, 1):.1f}' height='{ROW_H - 8}' "
                       f"fill='{colour}'/>")
            tx, anchor = (right + 4, "start") if r > 1 else (left - 4, "end")
            if r <= 1 and left - 4 < plot_x - 55:  # no room left of the bar: write it right of 1
                tx, anchor = x1 + 4, "start"
            out.append(f"<text x='{tx:.1f}' y='{y + 15}' text-anchor='{anchor}'>{ratio_text(r)}</text></g>")
            y += ROW_H
        y += ROW_H
    out.append(f"<line x1='{x1:.1f}' y1='{TOP - 8}' x2='{x1:.1f}' y2='{grid_bottom}' stroke='#333'/>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="*")
    parser.add_argument("-o", "--output", default=os.path.join(here, "..", "docs", "benchmarks.svg"))
    parser.add_argument("--rule", action="append", dest="rules")
    args = parser.parse_args(argv)
    paths = args.results or sorted(glob.glob(os.path.join(here, "results", "*.json")))
    if not paths:
        raise SystemExit("no results: give Google Benchmark JSON files or put them in benchmarks/results/")
    sections = collect(paths, ratios.parse_rules(args.rules or DEFAULT_RULES))
    note = "From " + ", ".join(os.path.basename(p) for p in paths) + " (benchmarks/plot.py)."
    svg = render(sections, note)
    if args.output == "-":
        sys.stdout.write(svg)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(svg)
        print(f"{args.output}: {sum(len(rows) for _, _, rows in sections)} bars from {len(paths)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
