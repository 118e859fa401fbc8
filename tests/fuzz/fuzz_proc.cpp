// libFuzzer target for the /proc parsers of host/linux.hpp. /proc is local, but a parser
// that can be fed any bytes without crashing is what "a malformed file fails its part"
// promises. The first byte picks the parser; the rest is the file's text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "anklet/metrics/host/linux.hpp"

namespace lh = anklet::metrics::detail::linux_host;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      if (const auto t = lh::parse_proc_stat(text)) {
        if (t->busy > t->total) std::abort();
        const double u = lh::usage_between(lh::cpu_times{t->total / 2, t->busy / 3}, *t, 0);
        if (!(u >= 0 && u <= 100)) std::abort();
      } else if (t.error().message.empty() || (t.error().has_offset() && t.error().offset > text.size())) {
        std::abort();
      }
      break;
    }
    case 1: {
      if (const auto m = lh::parse_meminfo(text)) {
        if (m->available_bytes > m->total_bytes) std::abort();
      } else if (m.error().message.empty() || (m.error().has_offset() && m.error().offset > text.size())) {
        std::abort();
      }
      break;
    }
    default:
      if (lh::count_cores_cpuinfo(text) > text.size()) std::abort();
      static_cast<void>(lh::valid_cpu_list(lh::trim(text)));
      break;
  }
  return 0;
}
