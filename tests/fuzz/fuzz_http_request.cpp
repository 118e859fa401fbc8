// libFuzzer target for the HTTP request parser: arbitrary bytes, fed in pieces whose sizes
// come from the input itself, must never crash, overrun a limit or loop forever.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "anklet/metrics/http/request_parser.hpp"

using namespace anklet::metrics::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the chunk size, so split points get explored too.
  const std::size_t step = static_cast<std::size_t>(data[0] % 64) + 1;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  request_limits limits;
  limits.max_request_line = 256;
  limits.max_header_bytes = 512;
  limits.max_header_count = 8;
  limits.max_body_bytes = 128;
  request_parser parser(limits);
  std::size_t requests = 0;
  while (!input.empty()) {
    const auto used = parser.feed(input.substr(0, step));
    if (used == 0 && parser.state() == parse_state::need_more) std::abort();  // no progress
    input.remove_prefix(used);
    if (parser.state() == parse_state::failed) {
      const int s = parser.error_status();
      if (s != 400 && s != 413 && s != 414 && s != 431 && s != 501 && s != 505) std::abort();
      break;
    }
    if (parser.state() == parse_state::complete) {
      const auto& r = parser.get();
      if (r.headers.size() > limits.max_header_count) std::abort();
      if (r.content_length > limits.max_body_bytes) std::abort();
      std::string decoded;
      (void)percent_decode(r.path, decoded, false);
      (void)for_each_query_param(r.query, [](std::string_view, std::string_view) { return true; });
      (void)r.header("connection");
      ++requests;
      parser.reset();
    }
  }
  (void)requests;
  return 0;
}
