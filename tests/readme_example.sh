#!/usr/bin/env bash
# The README's C++ example must compile and run as printed: extract its first ```cpp block,
# build it against include/ with {fmt} header-only, and check it prints valid-looking exposition.
set -euo pipefail
root=$1
cxx=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk '/^```cpp$/ {inside = 1; next} /^```$/ && inside {exit} inside' "$root/README.md" > "$work/example.cpp"
[ -s "$work/example.cpp" ] || { echo "no \`\`\`cpp block in README.md" >&2; exit 1; }
"$cxx" -std=c++20 -I"$root/include" -DFMT_HEADER_ONLY -pthread -o "$work/example" "$work/example.cpp"
"$work/example" > "$work/out.txt"
grep -q '^plugin_total_successful_runs_since_start{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet"} 1$' "$work/out.txt"
grep -q '^plugin_status{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet",status="idle"} 1$' "$work/out.txt"
echo "README example ok"
