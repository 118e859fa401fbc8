// Compresses a body and closes an open member with a tail: proof that the component brings
// zlib's header, its library and ANKLET_METRICS_GZIP.
#include <cstdio>
#include <string>

#include "anklet/metrics/http/gzip.hpp"

static_assert(ANKLET_METRICS_GZIP == 1, "the gzip component defines ANKLET_METRICS_GZIP");

int main() {
  namespace http = anklet::metrics::http;
  const auto gzip = http::gzip_compression();
  const std::string plain(4096, 'a');
  fmt::memory_buffer out;
  const auto crc = gzip->compress(plain, out, true);
  std::string member(out.data(), out.size());
  http::close_gzip_member(crc, plain.size(), "tail\n", member);
  // gzip's magic first, then a member much shorter than what it holds.
  if (member.size() < 18 || member[0] != '\x1f' || member[1] != '\x8b' || member.size() > plain.size() / 4) return 1;
  std::puts("gzip consumer ok");
  return 0;
}
