// libFuzzer target: the Accept header reader (http/accept.hpp) on raw bytes. No crash, no
// read past the input, every range it reports lies inside the input with a weight of at
// most 1, and the verdict agrees with the weights it reports.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "anklet/metrics/http/accept.hpp"

namespace amh = anklet::metrics::http;

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view accept(reinterpret_cast<const char*>(data), size);
  std::size_t ranges = 0;
  amh::for_each_media_range(accept, [&](const amh::media_range& r) {
    ++ranges;
    if (r.type.empty() || r.subtype.empty() || r.q > 1000) __builtin_trap();
    if (!inside(r.type, accept) || !inside(r.subtype, accept) || !inside(r.version, accept)) __builtin_trap();
    if (!r.has_version && (!r.version.empty() || r.version_escaped)) __builtin_trap();
  });
  if (ranges > amh::max_media_ranges) __builtin_trap();

  amh::accept_weights w;
  w.add(accept);
  if (w.openmetrics_q() > 1000 || w.text_q() > 1000) __builtin_trap();
  const bool om = w.prefers_openmetrics();
  if (om && (w.openmetrics_q() == 0 || w.openmetrics_q() < w.text_q())) __builtin_trap();
  if (om != amh::prefers_openmetrics(accept)) __builtin_trap();
  // The same header given twice weighs the same.
  amh::accept_weights twice;
  twice.add(accept);
  twice.add(accept);
  if (twice.prefers_openmetrics() != om || twice.openmetrics_q() != w.openmetrics_q()) __builtin_trap();
  return 0;
}
