#!/usr/bin/env bash
# Runs every libFuzzer target named in tests/fuzz/meson.build for SECONDS each and fails on
# any finding (crash, leak, timeout, out-of-memory). Each target works on a copy of its seed
# corpus in a temp dir, so the repository is never modified; what it finds is left in
# $FUZZ_BUILD_DIR/fuzz-artifacts/ for the failing run only.
#
#   tests/fuzz/run_all.sh SECONDS
#   FUZZ_BUILD_DIR=build-fuzz   clang build dir (configured with -Dfuzzing=true if missing)
#   FUZZ_JOBS=N                 targets run side by side (default: nproc, at most 2)
#   FUZZ_RESULTS=FILE           per-target figures, TSV (default: $FUZZ_BUILD_DIR/fuzz-results.tsv)
set -euo pipefail

seconds=${1:?usage: run_all.sh SECONDS}
case $seconds in ''|*[!0-9]*) echo "SECONDS must be a whole number" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${FUZZ_BUILD_DIR:-$root/build-fuzz}
case $build_dir in /*) ;; *) build_dir=$root/$build_dir ;; esac
jobs=${FUZZ_JOBS:-$(( $(nproc) < 2 ? $(nproc) : 2 ))}
results=${FUZZ_RESULTS:-$build_dir/fuzz-results.tsv}

# The target list is the fuzz_targets dict, so a new target is picked up without editing this.
mapfile -t targets < <(sed -n '/^fuzz_targets = {/,/^}/p' "$root/tests/fuzz/meson.build" |
  sed -n "s/^ *'\([a-z0-9_]*\)' *:.*/\1/p")
if [ "${#targets[@]}" -eq 0 ]; then
  echo "no targets found in tests/fuzz/meson.build" >&2; exit 2
fi

if [ ! -f "$build_dir/build.ninja" ]; then
  CXX=${FUZZ_CXX:-clang++} meson setup "$build_dir" "$root" -Dfuzzing=true -Dbenchmarks=false -Dwerror=true
elif ! meson introspect --buildoptions "$build_dir" | python3 -c \
    'import json, sys; sys.exit(not any(o["name"] == "fuzzing" and o["value"] for o in json.load(sys.stdin)))'; then
  echo "$build_dir exists but was not configured with -Dfuzzing=true" >&2; exit 2
fi
ninja -C "$build_dir" -j "$(nproc)" $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts=$build_dir/fuzz-artifacts
rm -rf "$artifacts"

# One target: copy the seeds, fuzz, then pull the figures out of libFuzzer's final stats.
run_one() {
  local name=$1 dir=$work/$1
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -r "$root/tests/fuzz/corpus_$name/." "$dir/corpus/"
  local rc=0
  # Our own sanitizer options: a caller's ASAN_OPTIONS (abort_on_error...) must not change
  # how findings are reported. A 10 s timeout per input is a hang, not slowness.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$build_dir/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" \
      >"$dir/log" 2>&1 || rc=$?
  local execs eps cov ft corp
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  # The last status line carries the final edge coverage ("cov:") and feature count ("ft:").
  cov=$(grep -E '^#[0-9]+' "$dir/log" | sed -n 's/.* cov: \([0-9]*\).*/\1/p' | tail -1)
  ft=$(grep -E '^#[0-9]+' "$dir/log" | sed -n 's/.* ft: \([0-9]*\).*/\1/p' | tail -1)
  corp=$(find "$dir/corpus" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rc" "$seconds" "${execs:-0}" "${eps:-0}" \
    "${cov:-0}" "${ft:-0}" "$corp" >"$dir/result"
}

running=0
for name in "${targets[@]}"; do
  if [ ! -d "$root/tests/fuzz/corpus_$name" ]; then
    echo "missing seed corpus tests/fuzz/corpus_$name" >&2; exit 2
  fi
  echo "fuzzing $name for ${seconds}s"
  run_one "$name" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait

failed=0
{
  printf 'target\texit\tseconds\texecutions\texec_per_s\tcoverage\tfeatures\tcorpus_files\n'
  for name in "${targets[@]}"; do cat "$work/$name/result"; done
} >"$results"

printf '\n%-22s %6s %12s %9s %8s %8s %s\n' target seconds executions exec/s cov ft result
for name in "${targets[@]}"; do
  IFS=$'\t' read -r _ rc secs execs eps cov ft _ <"$work/$name/result"
  verdict=ok
  if [ "$rc" -ne 0 ]; then
    verdict="FINDING (exit $rc)"
    failed=1
    mkdir -p "$artifacts/$name"
    cp -r "$work/$name/artifacts/." "$artifacts/$name/" 2>/dev/null || true
    cp "$work/$name/log" "$artifacts/$name/log"
  fi
  printf '%-22s %6s %12s %9s %8s %8s %s\n' "$name" "$secs" "$execs" "$eps" "$cov" "$ft" "$verdict"
done
echo "figures: $results"

if [ "$failed" -ne 0 ]; then
  for name in "${targets[@]}"; do
    [ -f "$artifacts/$name/log" ] || continue
    printf '\n--- %s: end of log (full log and reproducer in %s)\n' "$name" "$artifacts/$name"
    grep -E -A30 'ERROR: |runtime error|==[0-9]+== |deadly signal|Timeout|out-of-memory' \
      "$artifacts/$name/log" | head -60 || tail -40 "$artifacts/$name/log"
  done
  exit 1
fi
