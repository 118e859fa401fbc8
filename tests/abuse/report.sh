#!/usr/bin/env bash
# Runs the hardening suites and regenerates docs/reliability.md from their figures:
# fuzzing (tests/fuzz/run_all.sh), the HTTP abuse suite, shutdown under load (g++ and
# ASan + LeakSanitizer builds) and the Redis fault drills. Takes about 6 minutes with the
# default 60 s per fuzz target.
#
#   tests/abuse/report.sh
#   FUZZ_SECONDS=60      seconds per fuzz target; 0 reuses the last figures in the fuzz build dir
#   BUILD_DIR=build  ASAN_BUILD_DIR=build-asan  FUZZ_BUILD_DIR=build-fuzz
#   REPORT_NOTE="..."    appended to the document's header line
# Exits non-zero when a suite failed; the document is written either way and says so.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
asan=${ASAN_BUILD_DIR:-build-asan}
fuzz_build=${FUZZ_BUILD_DIR:-build-fuzz}
fuzz_seconds=${FUZZ_SECONDS:-60}
# Kept in the build dir, so make_report.py can be rerun alone.
figures=$build/reliability-figures
status=0
note() { printf '\n=== %s\n' "$*"; }

has_target() { ninja -C "$1" -t targets all 2>/dev/null | grep -q "^$2:"; }

note "builds"
[ -f "$build/build.ninja" ] || meson setup "$build" -Dbenchmarks=false || exit 1
rm -rf "$figures" && mkdir -p "$figures"
[ -f "$asan/build.ninja" ] || meson setup "$asan" -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbenchmarks=false -Dcpp_args=-fno-sanitize-recover=all || exit 1
targets=(examples/anklet-metrics-exporter tests/test_shutdown)
targets+=(tests/test_redis_faults_client)
has_target "$build" tests/test_redis_faults && targets+=(tests/test_redis_faults)
ninja -C "$build" -j2 "${targets[@]}" || exit 1
ninja -C "$asan" -j2 tests/test_shutdown || exit 1

if [ "$fuzz_seconds" != 0 ]; then
  note "fuzzing, ${fuzz_seconds} s per target"
  FUZZ_BUILD_DIR=$fuzz_build tests/fuzz/run_all.sh "$fuzz_seconds" || status=1
fi

note "HTTP abuse"
python3 tests/abuse/http_abuse.py "$build/examples/anklet-metrics-exporter" --json "$figures/abuse.json" \
  >/dev/null || status=1

note "shutdown under load (g++, then ASan + LeakSanitizer)"
ANKLET_SHUTDOWN_JSON=$figures/shutdown.json "$build/tests/test_shutdown" || status=1
lsan_clean=true
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 \
  ANKLET_SHUTDOWN_JSON=$figures/shutdown_asan.json "$asan/tests/test_shutdown" || { lsan_clean=false; status=1; }
if [ -f "$figures/shutdown_asan.json" ]; then
  python3 - "$figures/shutdown_asan.json" "$lsan_clean" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["lsan_clean"] = sys.argv[2] == "true"
json.dump(d, open(sys.argv[1], "w"))
EOF
fi

note "Redis faults under the RESP client"
ANKLET_CLIENT_FAULTS_JSON=$figures/client_faults.json "$build/tests/test_redis_faults_client" || status=1

if has_target "$build" tests/test_redis_faults; then
  note "Redis faults during export and aggregation"
  ANKLET_FAULTS_JSON=$figures/faults.json "$build/tests/test_redis_faults" || status=1
fi

note "Hostile fleet: the aggregator"
ANKLET_AGGREGATOR_JSON=$figures/aggregator.json "$build/tests/test_aggregator" || status=1

note "docs/reliability.md"
python3 tests/abuse/make_report.py docs/reliability.md \
  --fuzz "$fuzz_build/fuzz-results.tsv" --abuse "$figures/abuse.json" \
  --shutdown "$figures/shutdown.json" --shutdown-asan "$figures/shutdown_asan.json" \
  --faults "$figures/faults.json" --client-faults "$figures/client_faults.json" \
  --aggregator "$figures/aggregator.json" \
  --env "Last run: $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) CPUs, $(uname -sr), $(c++ --version | head -1).${REPORT_NOTE:+ $REPORT_NOTE}" || status=1
echo "wrote docs/reliability.md (suites $([ $status = 0 ] && echo passed || echo FAILED))"
exit $status
