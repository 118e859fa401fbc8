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
#include "reader_checks.hpp"

namespace amt = anklet::metrics::testing;

namespace {

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  amt::exposition e;
  const auto read = [](std::string_view t, amt::exposition& out, const amt::exposition_limits& limits,
                       amt::exposition_error* error) { return amt::read_openmetrics(t, out, limits, error); };
  if (!fuzz_readers::check_reader(text, read, write_back, e, 1)) return 0;
  if (text.size() < 5 || (text.substr(text.size() - 5) != "# EOF" && text.substr(text.size() - 6) != "# EOF\n")) {
    fuzz_readers::fail("accepted a text that does not end with # EOF");
  }
  for (const auto& f : e.families) {
    for (const auto& s : f.samples) {
      if (!s.exemplar) continue;
      std::size_t n = 0;
      for (const auto& l : s.exemplar->labels) n += l.name.size() + anklet::metrics::detail::utf8_code_points(l.value);
      if (n > 128) fuzz_readers::fail("accepted an exemplar over 128 code points");
    }
  }
  return 0;
}
