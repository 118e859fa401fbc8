// Makes a verifying TLS layer (the system's CA store) and refuses a missing CA file: proof
// that the component brings OpenSSL's headers, libraries and ANKLET_METRICS_TLS.
#include <cstdio>

#include "anklet/metrics/redis/tls.hpp"

static_assert(ANKLET_METRICS_TLS == 1, "the tls component defines ANKLET_METRICS_TLS");

int main() {
  namespace redis = anklet::metrics::redis;
  if (!redis::tls_layer()) return 1;
  redis::tls_settings s;
  s.ca_file = "/nonexistent/ca.crt";
  if (redis::tls_layer(s)) return 1;
  std::puts("tls consumer ok");
  return 0;
}
