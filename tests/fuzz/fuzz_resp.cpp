// libFuzzer target for the RESP2 reply parser.
// Input: byte 0 picks the chunking, byte 1 the limits, the rest is what the "server" sent.
// Oracles: no crash or sanitizer report; the same replies and outcome whatever the
// chunking; every reply re-encoded as RESP parses back to itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "anklet/metrics/redis/resp.hpp"

using namespace anklet::metrics::redis;

namespace {

void encode(const reply& r, std::string& out) {
  switch (r.type) {
    case reply_type::nil: out += "$-1\r\n"; return;
    case reply_type::simple_string: out += '+' + r.str + "\r\n"; return;
    case reply_type::error: out += '-' + r.str + "\r\n"; return;
    case reply_type::integer: out += ':' + std::to_string(r.integer) + "\r\n"; return;
    case reply_type::bulk_string: out += '$' + std::to_string(r.str.size()) + "\r\n" + r.str + "\r\n"; return;
    case reply_type::array:
      out += '*' + std::to_string(r.elements.size()) + "\r\n";
      for (const auto& e : r.elements) encode(e, out);
      return;
  }
}

struct outcome {
  std::vector<std::string> replies;  // re-encoded
  bool failed = false;
  errc code = errc::io;
};

outcome run(const std::uint8_t* data, std::size_t size, const reply_limits& limits, std::uint8_t chunk_seed) {
  outcome o;
  reply_parser p(limits);
  std::uint32_t state = chunk_seed | 0x9e370000u;
  const std::size_t max_chunk[] = {1, 7, 64, size == 0 ? 1 : size};
  const std::size_t cap = max_chunk[chunk_seed & 3];
  std::size_t i = 0;
  reply r;
  while (i < size && !o.failed) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    std::size_t n = 1 + state % cap;
    if (n > size - i) n = size - i;
    p.feed(reinterpret_cast<const char*>(data + i), n);
    i += n;
    for (;;) {
      auto s = p.next(r);
      if (s == reply_parser::status::complete) {
        std::string e;
        encode(r, e);
        o.replies.push_back(std::move(e));
        continue;
      }
      if (s == reply_parser::status::error) {
        o.failed = true;
        o.code = p.last_error().code;
      }
      break;
    }
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t chunk_seed = data[0];
  const std::uint8_t lb = data[1];
  data += 2;
  size -= 2;
  reply_limits limits;
  limits.max_depth = 1 + (lb & 15u);
  if (lb & 16u) limits.max_array_length = 4;
  if (lb & 32u) limits.max_bulk_length = 8;
  if (lb & 64u) limits.max_line_length = 16;
  if (lb & 128u) limits.max_reply_bytes = 1024;

  const outcome whole = run(data, size, limits, 3);  // one feed
  const outcome chunked = run(data, size, limits, chunk_seed);
  if (whole.replies != chunked.replies || whole.failed != chunked.failed ||
      (whole.failed && whole.code != chunked.code)) {
    __builtin_trap();
  }
  // A reply we produced is valid RESP and parses back to itself (nil arrays become nil bulks).
  for (const auto& e : whole.replies) {
    reply_parser again;  // default limits are wider than the fuzzed ones
    again.feed(e);
    reply r;
    if (again.next(r) != reply_parser::status::complete) __builtin_trap();
    std::string e2;
    encode(r, e2);
    if (e2 != e) __builtin_trap();
  }
  return 0;
}
