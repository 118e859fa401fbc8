// libFuzzer target: the testing kit's Prometheus exposition reader on raw bytes. Whatever
// it accepts must respect its limits, hold only valid UTF-8 label values, and read back
// to the same exposition when written out again; whatever it rejects must say why and
// where.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "anklet/metrics/testing.hpp"
#include "reader_checks.hpp"

namespace amt = anklet::metrics::testing;

namespace {

std::string write_back(const amt::exposition& e) {
  std::string out;
  for (const auto& f : e.families) {
    if (f.help) {
      out += "# HELP " + f.name + " ";
      for (const char c : *f.help) {
        if (c == '\\') {
          out += "\\\\";
        } else if (c == '\n') {
          out += "\\n";
        } else {
          out += c;
        }
      }
      out += '\n';
    }
    if (f.has_type_line) out += "# TYPE " + f.name + " " + std::string(amt::to_string(f.type)) + "\n";
    for (const auto& s : f.samples) out += amt::to_string(s) + "\n";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  amt::exposition e;
  const auto read = [](std::string_view t, amt::exposition& out, const amt::exposition_limits& limits,
                       amt::exposition_error* error) { return amt::read_exposition(t, out, limits, error); };
  fuzz_readers::check_reader(text, read, write_back, e);
  return 0;
}
