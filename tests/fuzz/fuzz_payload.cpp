// libFuzzer target: the aggregator's reader of Redis payloads (untrusted JSON).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "anklet/metrics/fleet/payload_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace am = anklet::metrics;
  am::payload_limits limits;
  limits.max_plugins = 64;
  limits.max_string_bytes = 256;
  limits.max_depth = 8;
  am::host_report report;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  const auto read = am::read_payload(json, report, limits);
  if (read) {
    // Whatever was accepted stays inside the limits it was read with.
    if (report.plugins.size() > limits.max_plugins) std::abort();
    for (const auto& p : report.plugins) {
      if (p.name.size() > limits.max_string_bytes || p.status.size() > limits.max_string_bytes) std::abort();
    }
  } else if (const auto& error = read.error(); error.message.empty() || !error.has_offset() || error.offset > size ||
                                              (error.code != am::errc::parse && error.code != am::errc::limit)) {
    std::abort();  // every rejection says why and where
  }
  return 0;
}
