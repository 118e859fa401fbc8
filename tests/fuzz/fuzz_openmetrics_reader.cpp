// libFuzzer target: the testing kit's OpenMetrics reader on raw bytes. Whatever it accepts
// must respect its limits, end with # EOF, hold only valid UTF-8 labels and exemplars of at
// most 128 code points, and read back to the same exposition when written out again in
// canonical form; whatever it rejects must say why and where.
#include <charconv>
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

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "%s\n", why);
  std::abort();
}

std::string escaped(std::string_view v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return {buf, r.ptr};
}

std::string labels(const std::vector<amt::label>& ls) {
  std::string out = "{";
  for (std::size_t i = 0; i < ls.size(); ++i) {
    if (i != 0) out += ',';
    out += ls[i].name + "=\"" + escaped(ls[i].value) + "\"";
  }
  return out + "}";
}

std::string write_back(const amt::exposition& e) {
  std::string out;
  for (const auto& f : e.families) {
    if (f.has_type_line) {
      const auto t = f.type == amt::metric_type::untyped ? std::string_view("unknown") : amt::to_string(f.type);
      out += "# TYPE " + f.name + " " + std::string(t) + "\n";
    }
    if (f.unit) out += "# UNIT " + f.name + " " + *f.unit + "\n";
    if (f.help) out += "# HELP " + f.name + " " + escaped(*f.help) + "\n";
    for (const auto& s : f.samples) {
      out += s.name + labels(s.labels) + " " + number(s.value);
      if (s.timestamp_seconds) out += " " + number(*s.timestamp_seconds);
      if (s.exemplar) {
        out += " # " + labels(s.exemplar->labels) + " " + number(s.exemplar->value);
        if (s.exemplar->timestamp_seconds) out += " " + number(*s.exemplar->timestamp_seconds);
      }
      out += '\n';
    }
  }
  return out + "# EOF\n";
}

bool same_number(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

bool same(const amt::exposition& a, const amt::exposition& b) {
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
          sa.timestamp_seconds != sb.timestamp_seconds || sa.exemplar.has_value() != sb.exemplar.has_value()) {
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
  if (!amt::read_openmetrics(text, e, limits, &error)) {
    std::size_t lines = 1;
    for (const char c : text) lines += c == '\n' ? 1 : 0;
    if (error.message.empty() || error.line == 0 || error.line > lines + 1 || error.column == 0) {
      fail("a rejection without a reason or with an impossible position");
    }
    return 0;
  }
  if (size > limits.max_input_bytes) fail("accepted input above the size limit");
  if (text.size() < 5 || (text.substr(text.size() - 5) != "# EOF" && text.substr(text.size() - 6) != "# EOF\n")) {
    fail("accepted a text that does not end with # EOF");
  }
  if (e.sample_count() > limits.max_samples) fail("accepted more samples than the limit");
  for (const auto& f : e.families) {
    for (const auto& s : f.samples) {
      if (s.labels.size() > limits.max_labels) fail("accepted more labels than the limit");
      for (const auto& l : s.labels) {
        if (amt::detail::first_invalid_utf8(l.value) != std::string_view::npos) fail("accepted invalid UTF-8");
      }
      if (s.exemplar) {
        std::size_t n = 0;
        for (const auto& l : s.exemplar->labels) n += l.name.size() + anklet::metrics::detail::utf8_code_points(l.value);
        if (n > 128) fail("accepted an exemplar over 128 code points");
      }
    }
  }
  amt::exposition again;
  if (!amt::read_openmetrics(write_back(e), again, {}, &error)) {
    std::fprintf(stderr, "%s\n", error.to_string().c_str());
    fail("the canonical form of an accepted exposition was rejected");
  }
  if (!same(e, again)) fail("the canonical form reads back differently");
  return 0;
}
