#!/usr/bin/env bash
# A build that did not ask for an optional dependency pulls in none of its headers: every
# public header but the one that brings it in compiles with an include directory first in
# the search path whose copies of the dependency's headers stop the compiler; that one
# header must fail the same way (so the trap works).
#   OpenSSL: no_optional_dependency.sh INCLUDE_DIR anklet/metrics/redis/tls.hpp 'openssl/ssl.h openssl/err.h ...' COMPILER [ARGS...]
#   zlib:    no_optional_dependency.sh INCLUDE_DIR anklet/metrics/http/gzip.hpp 'zlib.h zconf.h' COMPILER [ARGS...]
set -u
include=$1
opt_in=$2
read -r -a poisoned <<< "$3"
shift 3
# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
poison=$tmp
for h in "${poisoned[@]}"; do
  mkdir -p "$poison/$(dirname "$h")"
  echo "#error \"$h was included\"" > "$poison/$h"
done
# One translation unit with every header but the opt-in one: the compiler names the include chain.
(cd "$include" && find anklet -name '*.hpp' ! -path "$opt_in" | sort) |
  sed 's/.*/#include "&"/' > "$poison/all.cpp"
if ! "$@" -std=c++20 -fsyntax-only -I"$poison" -I"$include" "$poison/all.cpp"; then
  fail "a header other than $opt_in includes ${poisoned[0]}"
fi
printf '#include "%s"\n' "$opt_in" > "$poison/opt_in.cpp"
if "$@" -std=c++20 -fsyntax-only -I"$poison" -I"$include" "$poison/opt_in.cpp" 2>/dev/null; then
  fail "$opt_in compiled without ${poisoned[0]}: the trap does not work"
fi
[ $status -eq 0 ] && echo "no public header but $opt_in includes ${poisoned[0]}"
exit $status
