// libFuzzer target: the aggregator's untrusted inputs end to end. The input is split at
// each 0xFF byte: the first part is an HTTP query string (format=...), the rest are Redis
// payloads. Every accepted payload goes into one fleet, which is rendered as v1 and v2
// JSON and as Prometheus text; the JSON answers must always parse back as JSON objects or
// arrays of the right size, and nothing may crash whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string>
#include <string_view>

#include "anklet/metrics/fleet/aggregator.hpp"

namespace {

// Counts top-level elements of a JSON array or object written by our renderers: a crude
// structural check that does not need a JSON library (strings are skipped with escapes).
bool balanced(std::string_view s) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      else if (static_cast<unsigned char>(c) < 0x20) return false;  // raw control byte in a string
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') {
      if (--depth < 0) return false;
    }
  }
  return depth == 0 && !in_string;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace am = anklet::metrics;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto cut = in.find('\xff');
  const std::string_view query = in.substr(0, cut);
  static_cast<void>(am::http::query_value(query, "format"));

  am::payload_limits limits;
  limits.max_plugins = 16;
  limits.max_string_bytes = 256;
  limits.max_depth = 8;
  am::fleet f;
  std::string_view rest = cut == std::string_view::npos ? std::string_view{} : in.substr(cut + 1);
  while (!rest.empty() && f.hosts.size() < 8) {
    const auto next = rest.find('\xff');
    const std::string_view payload = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
    am::fleet_host h;
    h.key = "anklet/metrics/" + std::to_string(f.hosts.size());
    if (am::read_payload(payload, h.report, limits)) f.hosts.push_back(std::move(h));
  }
  std::string out;
  am::format_fleet_json_v2(f, std::back_inserter(out));
  if (!balanced(out)) std::abort();
  out.clear();
  am::format_fleet_json_v1(f, std::back_inserter(out));
  if (!balanced(out)) std::abort();
  out.clear();
  am::format_fleet_prometheus(f, std::back_inserter(out));
  if (out.empty() || out.back() != '\n') std::abort();
  return 0;
}
