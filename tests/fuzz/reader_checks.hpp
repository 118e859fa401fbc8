// What the fuzz targets of the testing kit's two readers (Prometheus text 0.0.4 and
// OpenMetrics) check alike: a rejection says why and where; what is accepted respects the
// limits and holds only valid UTF-8 labels; written out again in canonical form it reads
// back the same. Each target supplies its reader and its format's writer.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "anklet/metrics/testing.hpp"

namespace fuzz_readers {

namespace amt = anklet::metrics::testing;

[[noreturn]] inline void fail(const char* why) {
  std::fprintf(stderr, "%s\n", why);
  std::abort();
}

// Small limits, so that fuzzing reaches them.
inline amt::exposition_limits small_limits() {
  amt::exposition_limits limits;
  limits.max_input_bytes = 1u << 16;
  limits.max_line_bytes = 1024;
  limits.max_labels = 8;
  limits.max_samples = 256;
  return limits;
}

inline bool same_number(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// Every field either reader fills, compared.
inline bool same(const amt::exposition& a, const amt::exposition& b) {
  if (a.families.size() != b.families.size()) return false;
  for (std::size_t i = 0; i < a.families.size(); ++i) {
    const auto& fa = a.families[i];
    const auto& fb = b.families[i];
    if (fa.name != fb.name || fa.help != fb.help || fa.unit != fb.unit || fa.type != fb.type ||
        fa.has_type_line != fb.has_type_line || fa.samples.size() != fb.samples.size()) {
      return false;
    }
    for (std::size_t k = 0; k < fa.samples.size(); ++k) {
      const auto& sa = fa.samples[k];
      const auto& sb = fb.samples[k];
      if (sa.name != sb.name || sa.labels != sb.labels || !same_number(sa.value, sb.value) ||
          sa.timestamp_ms != sb.timestamp_ms || sa.timestamp_seconds != sb.timestamp_seconds ||
          sa.exemplar.has_value() != sb.exemplar.has_value()) {
        return false;
      }
      if (sa.exemplar && (sa.exemplar->labels != sb.exemplar->labels ||
                          !same_number(sa.exemplar->value, sb.exemplar->value) ||
                          sa.exemplar->timestamp_seconds != sb.exemplar->timestamp_seconds)) {
        return false;
      }
    }
  }
  return true;
}

// `read(text, out, limits, error)` is the reader, `write_back(e)` the canonical writer; a
// rejection may name up to `lines_after` lines past the last (OpenMetrics' missing # EOF).
// True, with the exposition in `e`, when the text was accepted.
template <class Read, class WriteBack>
bool check_reader(std::string_view text, Read read, WriteBack write_back, amt::exposition& e,
                  std::size_t lines_after = 0) {
  const auto limits = small_limits();
  amt::exposition_error error;
  if (!read(text, e, limits, &error)) {
    std::size_t lines = 1;
    for (const char c : text) lines += c == '\n' ? 1 : 0;
    if (error.message.empty() || error.line == 0 || error.line > lines + lines_after || error.column == 0) {
      fail("a rejection without a reason or with an impossible position");
    }
    return false;
  }
  if (text.size() > limits.max_input_bytes) fail("accepted input above the size limit");
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
  if (!read(write_back(e), again, amt::exposition_limits{}, &error)) {
    std::fprintf(stderr, "%s\n", error.to_string().c_str());
    fail("the canonical form of an accepted exposition was rejected");
  }
  if (!same(e, again)) fail("the canonical form reads back differently");
  return true;
}

}  // namespace fuzz_readers
