#!/bin/bash
# Runs `promtool check metrics` on our Prometheus output. Passes only when promtool
# reports no parse error and no remark other than the two naming lints we keep for
# compatibility with Anklet's metric names (SPEC section 5).
# `promtool check metrics` reads only the 0.0.4 text; our OpenMetrics output goes through
# Prometheus's own OpenMetrics parser instead, the one a scrape uses: `promtool tsdb
# create-blocks-from openmetrics`, which also wants a timestamp on every sample, so one is
# put after each sample's value first.
# Usage: promtool_check.sh RENDER_SAMPLE PROMTOOL
set -u
sample=${1:?render_sample path}
promtool=${2:-}
if [ -z "$promtool" ] || [ ! -x "$promtool" ]; then
  echo "FAIL: promtool not found (CI installs it with Debian's 'prometheus' package)" >&2
  exit 1
fi
# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../support/lib.sh"

allowed='^(total|plugin_total)_[a-z_]+ counter metrics should have "_total" suffix$'
allowed+='|^host_cpu(_used)?_count non-histogram and non-summary metrics should not have "_count" suffix$'

for mode in full solo unknown-status; do
  if ! "$sample" "$mode" > "$tmp/$mode.prom"; then
    fail "render_sample $mode failed"
    continue
  fi
  "$promtool" check metrics < "$tmp/$mode.prom" > "$tmp/$mode.out" 2>&1
  rc=$?
  echo "== $mode: promtool exit $rc"
  cat "$tmp/$mode.out"
  # promtool exits 0 when clean, 3 when it only has lint remarks, 1 on parse errors.
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
    fail "promtool rejected the $mode output"
  fi
  if grep -v -E "$allowed" "$tmp/$mode.out" | grep -q .; then
    fail "promtool remarks beyond the allowed naming lints for $mode:"
    grep -v -E "$allowed" "$tmp/$mode.out" >&2
  fi
done
# The full output has counters and host_cpu_count: promtool must have linted them, which
# shows it really parsed the whole text.
for expected in 'host_cpu_count non-histogram' 'plugin_total_ran_vms counter metrics should have "_total" suffix'; do
  if ! grep -qF "$expected" "$tmp/full.out"; then
    fail "expected promtool remark missing: $expected"
  fi
done
# OpenMetrics: the same snapshot, stamped, made into blocks by Prometheus's parser.
if "$sample" openmetrics > "$tmp/om.txt"; then
  python3 - "$tmp/om.txt" > "$tmp/stamped.om" <<'PY'
import sys
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith("#"):
        print(line)
        continue
    # The value ends at the first space after the labels (whose values may hold spaces).
    i, quoted = line.find("{"), False
    if i >= 0:
        while True:
            i += 1
            c = line[i]
            if quoted and c == "\\":
                i += 1
            elif c == '"':
                quoted = not quoted
            elif c == "}" and not quoted:
                break
    else:
        i = line.index(" ") - 1
    end = line.find(" ", i + 2)
    end = len(line) if end < 0 else end
    print(line[:end] + " 1736328600" + line[end:])
PY
  if ! "$promtool" tsdb create-blocks-from openmetrics "$tmp/stamped.om" "$tmp/blocks" > "$tmp/om.out" 2>&1; then
    cat "$tmp/om.out" >&2
    fail "Prometheus's OpenMetrics parser rejected the openmetrics output"
  elif ! grep -q 'NUM SAMPLES' "$tmp/om.out"; then
    cat "$tmp/om.out" >&2
    fail "promtool made no block of the openmetrics output"
  else
    echo "== openmetrics: $(tail -n 1 "$tmp/om.out")"
  fi
else
  fail "render_sample openmetrics failed"
fi
exit $status
