#!/usr/bin/env bash
# Runs the library benchmarks on a release build (store, rendering, gzip), keeps their
# JSON in benchmarks/results/, prints every result as a ratio to its peer from the same
# run, and redraws
# docs/benchmarks.svg. Run it on an otherwise idle machine: ratios survive noise better
# than absolute times, but not a machine at load 8.
# usage: benchmarks/run_all.sh [min_time_seconds=0.5]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
min_time=${1:-0.5}
build=$root/build-release
results=$root/benchmarks/results
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --buildtype=release >/dev/null
fi
ninja -C "$build" benchmarks/bench_store benchmarks/bench_render >/dev/null
# bench_gzip exists when zlib was found (Meson option gzip).
have_gzip=0
if ninja -C "$build" -t targets all 2>/dev/null | grep -q '^benchmarks/bench_gzip:'; then
  ninja -C "$build" benchmarks/bench_gzip >/dev/null
  have_gzip=1
fi
mkdir -p "$results"

run() {  # name, then ratio rules
  local name=$1
  shift
  "$build/benchmarks/$name" --benchmark_min_time="$min_time" --benchmark_format=json \
    --benchmark_out="$results/$name.json" --benchmark_out_format=json >/dev/null
  echo "== $name"
  "$root/benchmarks/ratios.py" --from-json "$results/$name.json" "$@"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
run bench_store '\w+_by_\w+<(.*)>/\d+=>bare_lock<\1>'
run bench_render 'prometheus_(?:ours|iostream)/(\d+)=>prometheus_memcpy/\1' \
  'prometheus_ours/(\d+)=>prometheus_iostream/\1'
# Each zlib level's time against rendering the same body; sizes in the counters.
[ "$have_gzip" = 0 ] || run bench_gzip 'gzip_l\d/(.*)=>render/\1'
"$root/benchmarks/compile_time.sh" 7
"$root/benchmarks/plot.py" "$results"/bench_store.json "$results"/bench_render.json -o "$root/docs/benchmarks.svg"
