#!/usr/bin/env python3
"""Checks that the docs follow the catalogue (include/anklet/metrics/core/catalogue.hpp):

- docs/metrics.md's first table (the exporter's families) lists exactly the catalogue's
  exporter families, in the catalogue's order, with its TYPE and labels;
- its `format=prometheus` table of the aggregator names exactly the fleet's families, with
  their TYPE and labels (rows there may group families: `a`, `_b` and `x_{p,q}_y` forms,
  and "the N `host_*`");
- every metric a query of docs/grafana-dashboard.json names is a family of the catalogue,
  or a sample of one as OpenMetrics names it (`x_total` of counter `x`; `h_bucket`,
  `h_sum`, `h_count` of histogram `h`).

usage: check_catalogue.py CATALOGUE_PROGRAM METRICS.md DASHBOARD.json
The program (tests/render_sample catalogue) prints `scope<TAB>name<TAB>type<TAB>labels`.
"""
import fnmatch
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_dashboard import all_panels, references, template_references  # noqa: E402


def catalogue(program):
    out = subprocess.run([program, "catalogue"], check=True, capture_output=True, text=True).stdout
    families = {"exporter": [], "fleet": []}
    for line in out.splitlines():
        scope, name, kind, labels = line.split("\t")
        families[scope].append((name, kind, labels))
    return families


def tables(metrics_md):
    """Every markdown table whose header starts with `| family | type | labels`, as rows of cells."""
    found, rows = [], None
    with open(metrics_md, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if re.match(r"\|\s*family\s*\|\s*type\s*\|\s*labels\s*\|", line):
                rows = []
                found.append(rows)
            elif rows is not None and line.startswith("|"):
                if not re.match(r"\|\s*-", line):
                    rows.append([c.strip() for c in line.strip("|").split("|")])
            else:
                rows = None
    return found


def expand(cell, known):
    """The family names one first cell stands for."""
    names = []
    m = re.match(r"the (\d+) `([^`]+)`", cell)
    if m:
        hits = [n for n in known if fnmatch.fnmatchcase(n, m.group(2))]
        if len(hits) != int(m.group(1)):
            raise SystemExit(f"'{cell}': the catalogue has {len(hits)} families matching {m.group(2)}")
        return hits
    for token in re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", cell)):  # remarks in parentheses
        b = re.match(r"(.*)\{([^}]*)\}(.*)", token)
        if b:
            names += [b.group(1) + part.strip() + b.group(3) for part in b.group(2).split(",")]
        elif token.startswith("_") and names:  # `_failed_run` after `plugin_last_successful_run`
            names.append("_".join(names[-1].split("_")[: -token.count("_")]) + token)
        else:
            names.append(token)
    return names


def check_table(rows, families, what, problems):
    want = {name: (kind, labels) for name, kind, labels in families}
    seen = []
    for cells in rows:
        if len(cells) < 3:
            problems.append(f"{what}: row with fewer than three cells: {cells}")
            continue
        for name in expand(cells[0], [n for n, _, _ in families]):
            seen.append(name)
            if name not in want:
                problems.append(f"{what}: `{name}` is not a family of the catalogue")
                continue
            kind, labels = want[name]
            if cells[1].split(" ")[0] != kind:
                problems.append(f"{what}: `{name}` is documented as '{cells[1]}', the catalogue says {kind}")
            if cells[2] != labels:
                problems.append(f"{what}: `{name}` has labels '{cells[2]}', the catalogue says '{labels}'")
    missing = [n for n, _, _ in families if n not in seen]
    if missing:
        problems.append(f"{what}: families of the catalogue not documented: {', '.join(missing)}")
    if len(seen) != len(set(seen)):
        problems.append(f"{what}: a family is documented twice")
    return seen


def sample_family(name, types):
    """The family a sample name belongs to, given {family: type}: a gauge or counter itself
    (a counter keeps its name in Prometheus text 0.0.4), a counter's `_total` sample in
    OpenMetrics, a histogram's `_bucket`, `_sum` or `_count`."""
    if types.get(name) in ("gauge", "counter"):
        return name
    for suffix, kind in (("_total", "counter"), ("_bucket", "histogram"), ("_sum", "histogram"),
                         ("_count", "histogram")):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) == kind:
            return name[: -len(suffix)]
    return None


def dashboard_metrics(path):
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    names = set()
    for p in all_panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            names |= references(t.get("expr", ""))[0]
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else (q or "")
            names |= template_references(q)[0]
    return names


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    program, metrics_md, dashboard = sys.argv[1:]
    fams = catalogue(program)
    found = tables(metrics_md)
    if len(found) != 2:
        raise SystemExit(f"{metrics_md}: expected the exporter's and the aggregator's family tables, found {len(found)}")
    problems = []
    exporter = check_table(found[0], fams["exporter"], "exporter table", problems)
    if exporter != [n for n, _, _ in fams["exporter"]]:
        problems.append("exporter table: families not in the order the exporter writes them")
    check_table(found[1], fams["fleet"], "aggregator table", problems)
    types = {n: kind for scope in fams.values() for n, kind, _ in scope}
    used = dashboard_metrics(dashboard)
    charted = set()
    for name in sorted(used):
        family = sample_family(name, types)
        if family is None:
            problems.append(f"{dashboard}: `{name}` is not a family of the catalogue nor a sample of one")
        else:
            charted.add(family)
    if not charted:
        problems.append(f"{dashboard}: no catalogue family found in its queries: format changed?")
    if problems:
        print("\n".join(problems))
        return 1
    print(f"{len(fams['exporter'])} exporter and {len(fams['fleet'])} fleet families documented as catalogued; "
          f"the dashboard uses {len(charted)} of them and nothing else")
    return 0


if __name__ == "__main__":
    sys.exit(main())
