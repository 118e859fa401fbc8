#!/usr/bin/env bash
# A build without TLS pulls in no OpenSSL header: every public header but redis/tls.hpp
# compiles with an include directory first in the search path whose openssl/*.h stop the
# compiler; redis/tls.hpp must fail the same way (so the trap works).
# Usage: no_openssl.sh INCLUDE_DIR COMPILER [ARGS...]
set -u
include=$1
shift
# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
poison=$tmp
mkdir -p "$poison/openssl"
for h in ssl.h err.h bio.h x509.h x509v3.h crypto.h evp.h opensslv.h; do
  echo '#error "an OpenSSL header was included"' > "$poison/openssl/$h"
done
# One translation unit with every header but tls.hpp: the compiler names the include chain.
(cd "$include" && find anklet -name '*.hpp' ! -path anklet/metrics/redis/tls.hpp | sort) |
  sed 's/.*/#include "&"/' > "$poison/all.cpp"
if ! "$@" -std=c++20 -fsyntax-only -I"$poison" -I"$include" "$poison/all.cpp"; then
  fail "a header other than redis/tls.hpp includes OpenSSL"
fi
printf '#include "anklet/metrics/redis/tls.hpp"\n' > "$poison/tls.cpp"
if "$@" -std=c++20 -fsyntax-only -I"$poison" -I"$include" "$poison/tls.cpp" 2>/dev/null; then
  fail "redis/tls.hpp compiled without OpenSSL headers: the trap does not work"
fi
[ $status -eq 0 ] && echo "no public header but redis/tls.hpp includes OpenSSL"
exit $status
