#!/usr/bin/env bash
# Compile time is a performance figure for a header-only library. Times three translation
# units with the same compiler and flags, in the same run, median of N builds each:
#   std-only : the standard headers the store needs, nothing of ours
#   update   : a file that only updates metrics (store.hpp) -- goal: within 1.2x of std-only
#   umbrella : anklet/metrics.hpp, everything including {fmt} header-only
# usage: benchmarks/compile_time.sh [N=5]   (CXX and CXXFLAGS are honoured)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-5}
cxx=${CXX:-c++}
flags=${CXXFLAGS:--std=c++20 -O2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/std_only.cpp" <<'CPP'
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>
int bump(std::atomic<int>& a) { return ++a; }
CPP
cat >"$tmp/update.cpp" <<'CPP'
#include "anklet/metrics/store.hpp"
void job_done(anklet::metrics::store::handler_handle h) {
  h.finish_run(anklet::metrics::run_outcome::successful, "https://ci.example/job/1");
  h.set_status(anklet::metrics::plugin_status::idle);
}
CPP
cat >"$tmp/umbrella.cpp" <<'CPP'
#include "anklet/metrics.hpp"
void job_done(anklet::metrics::store::handler_handle h) {
  h.finish_run(anklet::metrics::run_outcome::successful, "https://ci.example/job/1");
  h.set_status(anklet::metrics::plugin_status::idle);
}
CPP

median_seconds() {  # file -> median wall seconds of n compiles
  local f=$1 i times=()
  for ((i = 0; i < n; i++)); do
    local t0 t1
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    $cxx $flags -DFMT_HEADER_ONLY -I"$root/include" -c "$f" -o "$tmp/out.o"
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

std=$(median_seconds "$tmp/std_only.cpp")
upd=$(median_seconds "$tmp/update.cpp")
umb=$(median_seconds "$tmp/umbrella.cpp")
printf 'compiler: %s %s\n' "$cxx" "$flags"
printf '%-10s %8.3f s\n' std-only "$std" update "$upd" umbrella "$umb"
printf 'update/std-only   %.2fx (goal <= 1.20x)\n' "$(echo "$upd / $std" | bc -l)"
printf 'umbrella/std-only %.2fx\n' "$(echo "$umb / $std" | bc -l)"
