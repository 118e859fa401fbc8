# Sourced by the project's scripts: installs the Debian packages the build and the tests
# need, but only when one is missing, so a prepared machine pays nothing.
test_packages=(meson ninja-build g++ clang libclang-rt-14-dev pkg-config cmake make git libfmt-dev doctest-dev
  libbenchmark-dev libhiredis-dev prometheus-cpp-dev libssl-dev openssl zlib1g-dev nlohmann-json3-dev prometheus redis-server curl python3 python3-yaml
  golang-go)

ensure_packages() {
  local missing=() p
  for p in "${test_packages[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
