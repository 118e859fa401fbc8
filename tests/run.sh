#!/usr/bin/env bash
# Builds anklet-metrics and runs its whole test suite. Installs what is missing first
# (Debian, as root, or with sudo). Usage: tests/run.sh [extra meson test args...]
#   BUILD_DIR=build-x MESON_ARGS="-Db_sanitize=address,undefined" tests/run.sh
# A new build dir is configured unoptimized with debug info: the test programs include
# {fmt} header-only and build three times faster at -O0 (benchmarks have their own
# release build, benchmarks/run_all.sh). MESON_ARGS come last and may override it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
# shellcheck source=tests/deps.sh
source "$root/tests/deps.sh"
ensure_packages

if [ ! -f "$build_dir/build.ninja" ]; then
  # shellcheck disable=SC2086
  meson setup "$build_dir" "$root" --buildtype=debug ${MESON_ARGS:-}
fi
ninja -C "$build_dir" -j "$(nproc)"
meson test -C "$build_dir" --print-errorlogs --num-processes "$(nproc)" "$@"
