#!/usr/bin/env bash
# Compile time is a performance figure for a header-only library. Times seven translation
# units with the same compiler and flags, in the same run, median of N builds each, and
# prints four ratios, each against a peer compiled in the same run:
#   std-only : the standard headers the store needs, nothing of ours (read off each tree's
#              store headers, so that the baseline follows what they include)
#   update   : a file that only updates metrics (store.hpp)              update/std-only, goal <= 1.2x
#   fmt      : <fmt/format.h> header-only alone
#   umbrella : anklet/metrics.hpp alone                                   umbrella/fmt, goal <= 1.2x
#   setup    : the exporter's setup file: store, HTTP server with host    setup/umbrella, goal <= 1.5x
#              figures and Redis writer instantiated                       (header-only)
#   setup_compiled : the same file in compiled mode (ANKLET_METRICS_COMPILED)  setup_compiled/umbrella, goal <= 1.5x
#   program  : examples/anklet-metrics-exporter.cpp itself, as it is built:  program/umbrella, goal <= 1.5x
#              compiled mode, TLS and gzip when their headers are here
#   implementation : compiled mode's implementation file, built once per program (reported, no goal)
# usage: benchmarks/compile_time.sh [N=5] [TREE...]
#   TREE: other checkouts (e.g. a `git worktree` of an older commit) measured in the same run,
#   rounds interleaved with this one, so that a before/after comparison shares the machine's
#   noise. CXX and CXXFLAGS are honoured.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-5}
shift || true
trees=("$root" "$@")
cxx=${CXX:-c++}
flags=${CXXFLAGS:--std=c++20 -O2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/update.cpp" <<'CPP'
#include "anklet/metrics/store.hpp"
void job_done(anklet::metrics::store::handler_handle h) {
  h.finish_run(anklet::metrics::run_outcome::successful, "https://ci.example/job/1");
  h.set_status(anklet::metrics::plugin_status::idle);
}
CPP
cat >"$tmp/fmt.cpp" <<'CPP'
#include <fmt/format.h>
std::string hello(int n) { return fmt::format("{}", n); }
CPP
cat >"$tmp/umbrella.cpp" <<'CPP'
#include "anklet/metrics.hpp"
void job_done(anklet::metrics::store::handler_handle h) {
  h.finish_run(anklet::metrics::run_outcome::successful, "https://ci.example/job/1");
  h.set_status(anklet::metrics::plugin_status::idle);
}
CPP
# What examples/anklet-metrics-exporter.cpp instantiates, without its flag parsing.
cat >"$tmp/setup.cpp" <<'CPP'
#include "anklet/metrics.hpp"
namespace am = anklet::metrics;
void serve(am::store& metrics, const am::redis::connection_target& target) {
  am::platform_host_source host;
  am::http::host_refresher<am::store, am::platform_host_source> refresh{metrics, host};
  am::http::server_options options;
  options.address = "127.0.0.1";
  am::http::server_with_host<am::store, am::platform_host_source> server{metrics, options, {}, refresh};
  server.start();
  am::redis::writer_options wo;
  wo.client.target = target;
  wo.key = am::redis::metrics_key("owner", "name");
  am::redis::writer writer(wo);
  writer.start(metrics, host);
  writer.stop();
  static_cast<void>(writer.cleanup());
  server.stop();
}
CPP

# The baseline is every standard header that store.hpp and the headers it pulls in include,
# taken from the tree being measured: a list kept by hand here went stale as the store grew.
write_std_only() {  # tree index -> $tmp/std_only.<index>.cpp
  local tree=${trees[$1]} deps
  # shellcheck disable=SC2086
  deps=$($cxx $flags -I"$tree/include" -MM "$tmp/update.cpp" | tr -d '\\' | tr ' ' '\n' |
    grep -F "$tree/include/")
  # shellcheck disable=SC2086
  { grep -h '^#include <' $deps | sort -u
    echo 'int bump(int& n) { return ++n; }'; } >"$tmp/std_only.$1.cpp"
}
for t in "${!trees[@]}"; do write_std_only "$t"; done

printf '#include "anklet/metrics/implementation.hpp"\n' >"$tmp/implementation.cpp"

units=(std_only update fmt umbrella setup setup_compiled program implementation)
# The program's configuration: the optional parts it is built with when they are installed.
program_flags="-DANKLET_METRICS_COMPILED"
[ -f /usr/include/openssl/ssl.h ] && program_flags+=" -DANKLET_METRICS_TLS=1"
[ -f /usr/include/zlib.h ] && program_flags+=" -DANKLET_METRICS_GZIP=1"
# CPU seconds (user + system) of the compiler, not wall time: on a shared machine a compile
# waits for a core as long as others hold it, and the wait is not what it costs.
compile_once() {  # tree-index unit -> CPU seconds
  local TIMEFORMAT='%U %S' source=$tmp/$2.cpp mode=
  case $2 in
    std_only) source=$tmp/std_only.$1.cpp ;;
    setup_compiled) source=$tmp/setup.cpp mode=-DANKLET_METRICS_COMPILED ;;
    implementation) mode=-DANKLET_METRICS_COMPILED ;;
    program) source=${trees[$1]}/examples/anklet-metrics-exporter.cpp mode="$program_flags -I${trees[$1]}/examples" ;;
  esac
  # shellcheck disable=SC2086
  { time $cxx $flags $mode -DFMT_HEADER_ONLY -I"${trees[$1]}/include" -c "$source" -o "$tmp/out.o" \
      2>"$tmp/compiler.err"; } 2>"$tmp/time" || { cat "$tmp/compiler.err" >&2; exit 1; }
  awk '{ print $1 + $2 }' "$tmp/time"
}

for ((i = 0; i < n; i++)); do
  for t in "${!trees[@]}"; do
    for u in "${units[@]}"; do
      # Trees from before compiled mode have no implementation file.
      if [ "$u" = setup_compiled ] || [ "$u" = program ] || [ "$u" = implementation ]; then
        [ -f "${trees[$t]}/include/anklet/metrics/implementation.hpp" ] || continue
      fi
      compile_once "$t" "$u" >>"$tmp/times.$t.$u"
    done
  done
done

median() { [ -s "$1" ] || { echo nan; return; }; sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf 'compiler: %s %s, median of %s, CPU seconds\n' "$cxx" "$flags" "$n"
for t in "${!trees[@]}"; do
  declare -A m=()
  for u in "${units[@]}"; do m[$u]=$(median "$tmp/times.$t.$u"); done
  printf '\ntree: %s (%s)\n' "${trees[$t]}" "$(git -C "${trees[$t]}" rev-parse --short HEAD 2>/dev/null || echo '?')"
  for u in "${units[@]}"; do printf '%-15s %8.3f s\n' "$u" "${m[$u]}"; done
  printf 'std-only includes: %s\n' "$(grep '^#include' "$tmp/std_only.$t.cpp" | cut -d' ' -f2 | tr '\n' ' ')"
  printf 'update/std-only   %.2fx (goal <= 1.20x)\n' "$(echo "${m[update]} / ${m[std_only]}" | bc -l)"
  printf 'umbrella/fmt      %.2fx (goal <= 1.20x)\n' "$(echo "${m[umbrella]} / ${m[fmt]}" | bc -l)"
  printf 'setup/umbrella    %.2fx (goal <= 1.50x; header-only)\n' "$(echo "${m[setup]} / ${m[umbrella]}" | bc -l)"
  if [ "${m[setup_compiled]}" != nan ]; then
    printf 'setup_compiled/umbrella %.2fx (goal <= 1.50x; compiled mode)\n' "$(echo "${m[setup_compiled]} / ${m[umbrella]}" | bc -l)"
    printf 'program/umbrella  %.2fx (goal <= 1.50x; the exporter program, compiled mode, %s)\n' \
      "$(echo "${m[program]} / ${m[umbrella]}" | bc -l)" "$program_flags"
  fi
done
