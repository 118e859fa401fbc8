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

bool same(const amt::exposition& a, const amt::exposition& b) {
  if (a.families.size() != b.families.size()) return false;
  for (std::size_t i = 0; i < a.families.size(); ++i) {
    const auto& fa = a.families[i];
    const auto& fb = b.families[i];
    if (fa.name != fb.name || fa.help != fb.help || fa.type != fb.type || fa.has_type_line != fb.has_type_line ||
        fa.samples.size() != fb.samples.size()) {
      return false;
    }
    for (std::size_t k = 0; k < fa.samples.size(); ++k) {
      const auto& sa = fa.samples[k];
      const auto& sb = fb.samples[k];
      const bool values_equal = sa.value == sb.value || (std::isnan(sa.value) && std::isnan(sb.value));
      if (sa.name != sb.name || sa.labels != sb.labels || !values_equal || sa.timestamp_ms != sb.timestamp_ms) {
        return false;
      }
    }
  }
  return true;
}

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "%s\n", why);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  amt::exposition_limits limits;
  limits.max_input_bytes = 1u << 16;
  limits.max_line_bytes = 1024;
  limits.max_labels = 8;
  limits.max_samples = 256;

  amt::exposition e;
  amt::exposition_error error;
  if (!amt::read_exposition(text, e, limits, &error)) {
    std::size_t lines = 1;
    for (const char c : text) lines += c == '\n' ? 1 : 0;
    if (error.message.empty() || error.line == 0 || error.line > lines || error.column == 0) {
      fail("a rejection without a reason or with an impossible position");
    }
    return 0;
  }
  if (size > limits.max_input_bytes) fail("accepted input above the size limit");
  if (e.sample_count() > limits.max_samples) fail("accepted more samples than the limit");
  for (const auto& f : e.families) {
    for (const auto& s : f.samples) {
      if (s.labels.size() > limits.max_labels) fail("accepted more labels than the limit");
      for (const auto& l : s.labels) {
        if (amt::detail::first_invalid_utf8(l.value) != std::string_view::npos) fail("accepted invalid UTF-8");
      }
    }
  }
  // Written out in canonical form, the exposition reads back the same (default limits:
  // the canonical spelling of a number may be a little longer than the input's).
  amt::exposition again;
  if (!amt::read_exposition(write_back(e), again, {}, &error)) {
    std::fprintf(stderr, "%s\n", error.to_string().c_str());
    fail("the canonical form of an accepted exposition was rejected");
  }
  if (!same(e, again)) fail("the canonical form reads back differently");
  return 0;
}
