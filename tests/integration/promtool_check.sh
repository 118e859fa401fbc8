#!/bin/bash
# Runs `promtool check metrics` on our Prometheus output. Passes only when promtool
# reports no parse error and no remark other than the two naming lints we keep for
# compatibility with Anklet's metric names (SPEC section 5).
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
exit $status
