#!/usr/bin/env python3
"""Checks docs/grafana-dashboard.json: importable as is (a DS_PROMETHEUS input that every
panel and query uses, unique panel ids, grid positions), and every PromQL expression and
template query refers only to metric names and labels the exporter emits.

usage: check_dashboard.py [--promtool PATH] [--prometheus URL] DASHBOARD.json METRICS.md
                          [RENDER_PROGRAM [ARGS...]]

The emitted names come from docs/metrics.md (the reference table) and, when
RENDER_PROGRAM is given, from the exposition it prints (tests/render_sample openmetrics,
the OpenMetrics text Prometheus stores by default): a name must be in both, where a
sample of a documented family counts as documented (`x_total` of counter `x`, `h_bucket`,
`h_sum`, `h_count` of histogram `h`). Labels must appear in that text or be added by Prometheus
(instance, job). With --promtool, every expression must also parse as PromQL
(`promtool check rules` on a rule file of them, Grafana variables substituted). With
--prometheus (the base URL of a Prometheus that scrapes an exporter), every expression
must also return data there (tests/integration/dashboard_live.sh).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
                   "unless", "offset", "inf", "nan", "atan2"}
SCRAPE_LABELS = {"instance", "job"}
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"


def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)


def references(expr):
    """(metric names, label names) an expression refers to."""
    labels = set()
    s = strip_strings(expr)
    s = re.sub(r"\$\{[^}]*\}|\$\w+", " ", s)  # Grafana variables ($instance, ${DS}, $__range)
    for m in re.finditer(r"\{([^}]*)\}", s):  # label matchers
        labels.update(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", m.group(1)))
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)  # range selectors and subqueries
    for m in re.finditer(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", s):
        labels.update(x.strip() for x in m.group(1).split(",") if x.strip())
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    s = re.sub(r"\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|s|m|h|d|w|y)?\b", " ", s)  # numbers, durations
    metrics = set()
    for m in re.finditer(NAME, s):
        word = m.group(0)
        if word.lower() in PROMQL_KEYWORDS or re.match(r"\s*\(", s[m.end():]):
            continue  # a keyword, or a function or aggregation being called
        metrics.add(word)
    return metrics, labels


def template_references(query):
    """label_values(metric{...}, label) and friends, else a plain PromQL query."""
    m = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_]\w*)\s*\)\s*", query)
    if m:
        metrics, labels = references(m.group(1))
        return metrics, labels | {m.group(2)}
    m = re.fullmatch(r"\s*(?:metrics|label_names)\((.*)\)\s*", query)
    if m:
        return set(), set()
    m = re.fullmatch(r"\s*query_result\((.*)\)\s*", query)
    return references(m.group(1) if m else query)


def self_test():
    cases = {
        'sum by (name) (rate(plugin_total_ran_vms{owner=~"$owner",x="a{b}"}[5m])) * 60':
            ({"plugin_total_ran_vms"}, {"name", "owner", "x"}),
        'time() - max by (instance) (plugin_last_successful_run > 0)':
            ({"plugin_last_successful_run"}, {"instance"}),
        'count(up == 1) / on(job) group_left(zone) host_cpu_count offset 5m':
            ({"up", "host_cpu_count"}, {"job", "zone"}),
        'sum(increase(typo_metric[$__range])) + 1e3':
            ({"typo_metric"}, set()),
    }
    for expr, want in cases.items():
        got = references(expr)
        if got != want:
            raise SystemExit(f"self-test: {expr!r} gave {got}, expected {want}")
    got = template_references('label_values(plugin_status{instance=~"$instance"}, owner)')
    if got != ({"plugin_status"}, {"instance", "owner"}):
        raise SystemExit(f"self-test: label_values gave {got}")


SAMPLE_SUFFIXES = ("_total", "_bucket", "_sum", "_count")


def family_of(name, families):
    """The family among `families` that a sample named `name` belongs to, else None."""
    if name in families:
        return name
    for suffix in SAMPLE_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in families:
            return name[: -len(suffix)]
    return None


def documented_names(metrics_md):
    names = set()
    with open(metrics_md, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\|\s*`(" + NAME + r")`\s*\|", line)
            if m:
                names.add(m.group(1))
    return names


def emitted(command):
    text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    names, labels = set(), set()
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        line = strip_strings(line).split(" # {")[0]  # an OpenMetrics exemplar is not the sample's
        m = re.match(r"(" + NAME + r")(\{.*\})?\s", line)
        if m:
            names.add(m.group(1))
            if m.group(2):
                labels.update(re.findall(r'([a-zA-Z_]\w*)="', strip_strings(m.group(2)).replace('""', '"x"')))
    return names, labels


def grafana_to_promql(expr):
    """Grafana's interval variables become durations, the others a match-all regex."""
    expr = re.sub(r"\$__(?:range|rate_interval|interval)\b|\$\{__(?:range|rate_interval|interval)\}", "5m", expr)
    return re.sub(r"\$\{[^}]*\}|\$\w+", ".*", expr)


def promtool_problems(promtool, exprs):
    """Every expression must parse: promtool check rules on a rule file holding them."""
    rules = [{"record": f"dashboard:query_{i}", "expr": grafana_to_promql(e)} for i, e in enumerate(exprs)]
    # JSON is YAML, so the rule file needs no YAML library.
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
    try:
        r = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    return [] if r.returncode == 0 else [f"promtool rejects an expression: {(r.stdout + r.stderr).strip()}"]


def live_problems(base_url, exprs):
    """Every expression must evaluate to at least one series on a live Prometheus."""
    problems = []
    for e in exprs:
        url = base_url.rstrip("/") + "/api/v1/query?query=" + urllib.parse.quote(grafana_to_promql(e))
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                doc = json.load(r)
        except Exception as ex:  # an HTTP 400 carries the parse error in its body
            body = ex.read().decode(errors="replace") if hasattr(ex, "read") else ""
            problems.append(f"live query failed: {e}: {ex} {body}")
            continue
        if doc.get("status") != "success":
            problems.append(f"live query failed: {e}: {doc}")
        elif not doc["data"]["result"]:
            problems.append(f"live query returned nothing: {e}")
    return problems


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def main():
    self_test()
    args = sys.argv[1:]
    promtool = prometheus = None
    while args[:1] in (["--promtool"], ["--prometheus"]):
        if args[0] == "--promtool":
            promtool = args[1]
        else:
            prometheus = args[1]
        args = args[2:]
    if len(args) < 2:
        raise SystemExit(__doc__)
    with open(args[0], encoding="utf-8") as f:
        dash = json.load(f)
    documented = documented_names(args[1])
    if len(documented) < 20:
        raise SystemExit(f"only {len(documented)} metric names found in {args[1]}: table format changed?")
    rendered, rendered_labels = emitted(args[2:]) if len(args) > 2 else (None, set())
    known_labels = rendered_labels | SCRAPE_LABELS if rendered is not None else None
    problems = []

    # Importable as is: the datasource comes from an input, and every query uses it.
    inputs = [i.get("name") for i in dash.get("__inputs", []) if i.get("pluginId") == "prometheus"]
    if inputs != ["DS_PROMETHEUS"]:
        problems.append(f"__inputs must declare one Prometheus input DS_PROMETHEUS, found {inputs}")
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
        problems.append("schemaVersion missing or older than 36")
    for key in ("title", "uid", "panels", "templating", "time"):
        if key not in dash:
            problems.append(f"missing top-level key {key}")
    ds = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}

    exprs = []  # (where, metrics, labels)
    promql = []  # every expression, for promtool
    ids = []
    for p in all_panels(dash.get("panels", [])):
        where = f"panel {p.get('id')} '{p.get('title')}'"
        ids.append(p.get("id"))
        if not {"h", "w", "x", "y"} <= set(p.get("gridPos", {})):
            problems.append(f"{where}: incomplete gridPos")
        if p.get("type") == "row":
            continue
        if p.get("datasource") != ds:
            problems.append(f"{where}: datasource is not ${{DS_PROMETHEUS}}")
        refs = [t.get("refId") for t in p.get("targets", [])]
        if not refs or len(set(refs)) != len(refs):
            problems.append(f"{where}: no targets or duplicate refIds {refs}")
        for t in p.get("targets", []):
            if t.get("datasource") != ds:
                problems.append(f"{where} {t.get('refId')}: datasource is not ${{DS_PROMETHEUS}}")
            if not t.get("expr"):
                problems.append(f"{where} {t.get('refId')}: empty expression")
                continue
            exprs.append((f"{where} {t.get('refId')}", *references(t["expr"])))
            promql.append(t["expr"])
    if len(set(ids)) != len(ids) or None in ids:
        problems.append(f"panel ids missing or not unique: {ids}")
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        if v.get("datasource") != ds:
            problems.append(f"variable {v.get('name')}: datasource is not ${{DS_PROMETHEUS}}")
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        exprs.append((f"variable {v.get('name')}", *template_references(q)))
        m = re.fullmatch(r"\s*label_values\((.*),\s*[a-zA-Z_]\w*\s*\)\s*", q)
        promql.append(m.group(1) if m else q)

    charted = set()
    for where, metrics, labels in exprs:
        if not metrics:
            problems.append(f"{where}: refers to no metric")
        for name in sorted(metrics):
            charted.add(name)
            if family_of(name, documented) is None:
                problems.append(f"{where}: '{name}' is not in docs/metrics.md")
            if rendered is not None and name not in rendered:
                problems.append(f"{where}: '{name}' is not in the rendered exposition")
        if known_labels is not None:
            for label in sorted(labels - known_labels):
                problems.append(f"{where}: label '{label}' is never emitted")

    if promtool:
        problems += promtool_problems(promtool, promql)
    if prometheus:
        problems += live_problems(prometheus, promql)
    for p in problems:
        print("FAIL:", p)
    uncharted = sorted((rendered if rendered is not None else documented) - charted)
    if not problems:
        print(f"{len(exprs)} queries, {len(charted)} metric names, all emitted"
              + (", all parsed by promtool" if promtool else "") + (", all answered by Prometheus" if prometheus else ""))
    if uncharted:
        print("not charted:", ", ".join(uncharted))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
