// anklet::metrics numbers as the formats spell them: decimal integers, Prometheus sample
// values (shortest round trip, NaN, +Inf, -Inf), float64 as Go's encoding/json writes it,
// and Go's `%f` for the Anklet text. Locale-independent: {fmt} without the `L`
// specifier, never iostreams or printf.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "anklet/metrics/render/sink.hpp"

namespace anklet::metrics {

/// Unsigned decimal.
template <char_sink Sink>
void write_uint(Sink& s, std::uint64_t v) {
  detail::write_formatted<24>(s, [v](char* p) { return fmt::format_to(p, FMT_COMPILE("{}"), v); });
}

/// Signed decimal.
template <char_sink Sink>
void write_int(Sink& s, std::int64_t v) {
  detail::write_formatted<24>(s, [v](char* p) { return fmt::format_to(p, FMT_COMPILE("{}"), v); });
}

namespace detail {
// The longest shortest form, -2.2250738585072014e-308, is 24 chars.
template <char_sink Sink>
void write_double_shortest(Sink& s, double v) {
  write_formatted<32>(s, [v](char* p) { return fmt::format_to(p, FMT_COMPILE("{}"), v); });
}
}  // namespace detail

/// A sample value for Prometheus: the shortest text that reads back to the same double;
/// NaN and the infinities in the spelling the exposition format defines.
template <char_sink Sink>
void write_prometheus_double(Sink& s, double v) {
  if (std::isnan(v)) return s.write("NaN");
  if (std::isinf(v)) return s.write(v > 0 ? std::string_view("+Inf") : std::string_view("-Inf"));
  detail::write_double_shortest(s, v);
}

namespace detail {

// Go's encoding/json float64: the shortest digits that read back to the same double, laid
// out in plain decimal for 1e-6 <= |v| < 1e21 (and zero), otherwise as d.ddde-7 / d.ddde+21
// (no leading zero in a negative exponent). {fmt} finds the digits; only the layout is ours.
inline char* put_go_json_float(char* p, double v) noexcept {
  // The shortest round-trip form from {fmt}: [-]d[.ddd][e±XX] or plain [-]ddd[.ddd].
  char digits_buf[32];
  char* const shortest_end = fmt::format_to(digits_buf, FMT_COMPILE("{}"), v);
  const char* q = digits_buf;
  if (*q == '-') {
    *p++ = '-';
    ++q;
  }
  char digits[24];
  int ndigits = 0;
  int point = -1;  // digits before the decimal point, as written
  int exponent = 0;
  for (; q < shortest_end; ++q) {
    if (*q >= '0' && *q <= '9') {
      if (ndigits < 24) digits[ndigits++] = *q;
    } else if (*q == '.') {
      point = ndigits;
    } else if (*q == 'e') {
      ++q;
      const bool negative = *q == '-';
      if (*q == '-' || *q == '+') ++q;
      for (; q < shortest_end; ++q) exponent = exponent * 10 + (*q - '0');
      if (negative) exponent = -exponent;
      break;
    }
  }
  if (point < 0) point = ndigits;
  // Normalise to significant digits d1 d2 ... with the value 0.d1d2... x 10^decimal_point.
  int first = 0;
  while (first < ndigits - 1 && digits[first] == '0') {
    ++first;
    --point;
  }
  int last = ndigits;
  while (last > first + 1 && digits[last - 1] == '0') --last;
  const int decimal_point = point + exponent;  // position of the point after digits[first]
  const int n = last - first;
  const char* d = digits + first;
  const double magnitude = v < 0 ? -v : v;
  if (magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e21)) {
    if (magnitude == 0) {
      *p++ = '0';
    } else if (decimal_point <= 0) {
      *p++ = '0';
      *p++ = '.';
      for (int i = decimal_point; i < 0; ++i) *p++ = '0';
      for (int i = 0; i < n; ++i) *p++ = d[i];
    } else {
      for (int i = 0; i < std::max(n, decimal_point); ++i) {
        if (i == decimal_point) *p++ = '.';
        *p++ = i < n ? d[i] : '0';
      }
    }
    return p;
  }
  *p++ = d[0];
  if (n > 1) {
    *p++ = '.';
    for (int i = 1; i < n; ++i) *p++ = d[i];
  }
  // strconv writes at least two exponent digits; encoding/json then drops the zero of
  // e-07, so only a positive exponent keeps two.
  const int e = decimal_point - 1;
  const int magnitude_e = e < 0 ? -e : e;
  *p++ = 'e';
  *p++ = e < 0 ? '-' : '+';
  if (magnitude_e >= 100) *p++ = static_cast<char>('0' + magnitude_e / 100);
  if (magnitude_e >= 10 || e > 0) *p++ = static_cast<char>('0' + magnitude_e / 10 % 10);
  *p++ = static_cast<char>('0' + magnitude_e % 10);
  return p;
}

}  // namespace detail

/// A JSON number exactly as Go's encoding/json writes a float64 (`0.00001`, `5e-7`,
/// `100000000000000000000`, `1e+21`, `-0`), so that our payloads and aggregator answers
/// match Go's byte for byte. JSON has no NaN or infinity (Go's encoder refuses them and
/// writes nothing at all); we write 0 so that the document stays valid and the field keeps
/// its numeric type.
template <char_sink Sink>
void write_json_double(Sink& s, double v) {
  if (!std::isfinite(v)) return s.put('0');
  detail::write_formatted<40>(s, [v](char* p) { return detail::put_go_json_float(p, v); });
}

namespace detail {

/// Go's `%f`: six decimals, `NaN`, `+Inf`, `-Inf`.
template <char_sink Sink>
void write_go_fixed6(Sink& s, double v) {
  if (std::isnan(v)) return s.write("NaN");
  if (std::isinf(v)) return s.write(v > 0 ? std::string_view("+Inf") : std::string_view("-Inf"));
  // 1e308 with six decimals needs 316 characters; format_to_n would truncate silently,
  // so claim room that always fits.
  detail::write_formatted<400>(s, [v](char* p) { return fmt::format_to(p, FMT_COMPILE("{:.6f}"), v); });
}

}  // namespace detail

}  // namespace anklet::metrics
