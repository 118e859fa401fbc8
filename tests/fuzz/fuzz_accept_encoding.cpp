// libFuzzer target for Accept-Encoding: the input is one or more field values separated by
// newlines. No crash; weights stay in range; the limits hold; gzip is chosen only when
// offered and when the text names gzip (or x-gzip) or "*".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/http/encoding.hpp"

namespace http = anklet::metrics::http;

namespace {

bool in_range(int w) { return w == -1 || (w >= 0 && w <= 1000); }

bool names_gzip_or_any(std::string_view s) {
  std::string lower;
  for (const char c : s) lower += anklet::metrics::detail::ascii_lower(c);
  return lower.find("gzip") != std::string::npos || lower.find('*') != std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  http::accept_encoding_limits limits;
  limits.max_bytes = 256;  // small, so that the fuzzer reaches the limits
  limits.max_items = 8;
  http::accepted_codings a;
  std::string_view rest = input;
  while (true) {
    const auto nl = rest.find('\n');
    a.add(rest.substr(0, nl), limits);
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  if (!in_range(a.gzip) || !in_range(a.identity) || !in_range(a.any)) __builtin_trap();
  if (a.bytes_read > limits.max_bytes || a.items_read > limits.max_items) __builtin_trap();
  if (a.choose(false) != http::content_coding::identity) __builtin_trap();
  if (a.choose(true) == http::content_coding::gzip && !names_gzip_or_any(input)) __builtin_trap();
  // Without limits in the way, a value that names nothing but identity never yields gzip.
  http::accepted_codings b;
  b.add(input);
  if (b.gzip_weight() > 0 && !names_gzip_or_any(input)) __builtin_trap();
  return 0;
}
