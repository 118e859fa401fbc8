#!/usr/bin/env bash
# Builds the example exporter and runs it with demo plugins on http://127.0.0.1:8080
# (extra arguments are passed through, e.g. --listen 127.0.0.1:0). Works on a fresh Debian
# machine: installs the few packages it needs when missing (as root, or through sudo).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}

missing=()
# nlohmann-json3-dev: `meson setup` configures the tests too, which need it.
for p in meson ninja-build g++ pkg-config libfmt-dev nlohmann-json3-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ ! -f "$build_dir/build.ninja" ]; then
  meson setup "$build_dir" "$root" >&2
fi
ninja -C "$build_dir" examples/anklet-metrics-exporter >&2
exec "$build_dir/examples/anklet-metrics-exporter" --demo "$@"
