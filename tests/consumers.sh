#!/usr/bin/env bash
# Builds and runs the consumer projects of examples/consumers/, one per way a user's build
# can take the library in: Meson subproject, installed (Meson and Makefile through
# pkg-config, CMake through find_package), and copy-in (include path only, with {fmt}
# header-only and with libfmt linked). Everything happens in a temporary directory.
set -euo pipefail
# Every step stands on its own line: under `set -e` a failure inside `a && b` would not stop the script.
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
consumers=$root/examples/consumers
passed=0

stage_consumer() {  # name -> fresh copy of that consumer with the shared program
  local dir=$work/$1
  cp -r "$consumers/$1" "$dir"
  cp "$consumers/consumer.cpp" "$dir/"
  echo "$dir"
}
ok() { echo "ok: $1"; passed=$((passed + 1)); }

# Install into a private prefix; installing builds nothing (headers and package files only).
prefix=$work/prefix
meson setup "$work/lib-build" "$root" --prefix="$prefix" -Dtests=false -Dexamples=false -Dbenchmarks=false >/dev/null
meson install -C "$work/lib-build" --no-rebuild >/dev/null
pc_dir=$(dirname "$(find "$prefix" -name anklet-metrics.pc)")

dir=$(stage_consumer meson-subproject)
mkdir -p "$dir/subprojects"
ln -s "$root" "$dir/subprojects/anklet-metrics"
meson setup "$dir/build" "$dir" >/dev/null
ninja -C "$dir/build" >/dev/null
"$dir/build/consumer"
ok "meson subproject"

dir=$(stage_consumer meson-installed)
PKG_CONFIG_PATH=$pc_dir meson setup "$dir/build" "$dir" >/dev/null
ninja -C "$dir/build" >/dev/null
"$dir/build/consumer"
ok "installed, meson + pkg-config"

dir=$(stage_consumer makefile)
PKG_CONFIG_PATH=$pc_dir make -s -C "$dir"
"$dir/consumer"
ok "installed, Makefile + pkg-config"

dir=$(stage_consumer cmake)
cmake -S "$dir" -B "$dir/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$dir/build" >/dev/null
"$dir/build/consumer"
ok "installed, CMake find_package"

# TLS and gzip are components of their own: only a user who asks for one gets OpenSSL or zlib.
component_consumer() {  # COMPONENT PROGRAM
  local dir=$work/cmake-$1
  cp -r "$consumers/cmake-$1" "$dir"
  cmake -S "$dir" -B "$dir/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build "$dir/build" >/dev/null
  "$dir/build/$2"
  ok "installed, CMake find_package COMPONENTS $1"
}
component_consumer tls tls_consumer
component_consumer gzip gzip_consumer

mkdir -p "$work/copy-in" && cp "$consumers/consumer.cpp" "$work/copy-in/"
c++ -std=c++20 -I"$root/include" -DFMT_HEADER_ONLY -pthread -o "$work/copy-in/header-only" "$work/copy-in/consumer.cpp"
"$work/copy-in/header-only"
ok "copy-in, {fmt} header-only"
c++ -std=c++20 -I"$root/include" -pthread -o "$work/copy-in/linked" "$work/copy-in/consumer.cpp" -lfmt
"$work/copy-in/linked"
ok "copy-in, libfmt linked"

echo "$passed passed, 0 failed"
