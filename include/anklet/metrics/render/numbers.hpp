// anklet::metrics numbers as the formats spell them: decimal integers, Prometheus sample
// values (shortest round trip, NaN, +Inf, -Inf), float64 as Go's encoding/json writes it,
// and Go's `%f` for the Anklet text. Locale-independent: {fmt} without the `L`
// specifier, never iostreams or printf.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/render/sink.hpp"

namespace anklet::metrics {

/// Room write_uint and write_int take from a sink (detail::write_bounded counts it): more
/// than the 20 chars of the longest 64-bit decimal.
inline constexpr std::size_t max_integer_chars = 24;

namespace detail {

// Integers are written two digits per table lookup (put2), in chunks of four and eight
// digits whose divisions do not wait for one another. {fmt}'s loop divides the whole value
// by 100 once per pair, each step waiting for the one before; with 10-digit timestamps on
// many lines, a 1000-plugin render is a sixth faster this way (docs/performance.md).

// Exactly four digits, leading zeros kept: v < 10000.
[[gnu::always_inline]] inline char* put_four(char* p, std::uint32_t v) noexcept {
  return put2(put2(p, v / 100), v % 100);
}

// Exactly eight digits, leading zeros kept: v < 100000000.
[[gnu::always_inline]] inline char* put_eight(char* p, std::uint32_t v) noexcept {
  return put_four(put_four(p, v / 10000), v % 10000);
}

// 1 to 4 digits, no leading zeros: v < 10000.
[[gnu::always_inline]] inline char* put_up_to_four(char* p, std::uint32_t v) noexcept {
  if (v < 10) {
    *p = static_cast<char>('0' + v);
    return p + 1;
  }
  if (v < 100) return put2(p, v);
  if (v < 1000) {
    *p = static_cast<char>('0' + v / 100);
    return put2(p + 1, v % 100);
  }
  return put_four(p, v);
}

// 1 to 8 digits, no leading zeros: v < 100000000.
[[gnu::always_inline]] inline char* put_up_to_eight(char* p, std::uint32_t v) noexcept {
  if (v < 10000) return put_up_to_four(p, v);
  return put_four(put_up_to_four(p, v / 10000), v % 10000);
}

/// v in decimal at p, at most 20 chars; returns the end.
inline char* put_decimal(char* p, std::uint64_t v) noexcept {
  constexpr std::uint64_t e8 = 100'000'000;
  if (v < e8) return put_up_to_eight(p, static_cast<std::uint32_t>(v));
  const auto low = static_cast<std::uint32_t>(v % e8);
  const std::uint64_t high = v / e8;
  if (high < e8) {
    p = put_up_to_eight(p, static_cast<std::uint32_t>(high));
  } else {
    // 17 to 20 digits: the top one to four, then eight.
    p = put_up_to_four(p, static_cast<std::uint32_t>(high / e8));
    p = put_eight(p, static_cast<std::uint32_t>(high % e8));
  }
  return put_eight(p, low);
}

inline char* put_decimal(char* p, std::int64_t v) noexcept {
  if (v < 0) {
    *p++ = '-';
    // The magnitude in unsigned arithmetic: -INT64_MIN does not fit an int64.
    return put_decimal(p, std::uint64_t{0} - static_cast<std::uint64_t>(v));
  }
  return put_decimal(p, static_cast<std::uint64_t>(v));
}

}  // namespace detail

/// Unsigned decimal.
template <char_sink Sink>
void write_uint(Sink& s, std::uint64_t v) {
  detail::write_formatted<max_integer_chars>(s, [v](char* p) { return detail::put_decimal(p, v); });
}

/// Signed decimal.
template <char_sink Sink>
void write_int(Sink& s, std::int64_t v) {
  detail::write_formatted<max_integer_chars>(s, [v](char* p) { return detail::put_decimal(p, v); });
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

// The shortest decimal digits that read back to a finite double, as {fmt} finds them:
// the value is 0.d1d2...dn x 10^point (digits without leading or trailing zeros; one '0'
// for zero). Formats lay these digits out in their own ways.
struct shortest_decimal {
  char digits[24];
  int count = 0;
  int point = 0;
  bool negative = false;
};

inline shortest_decimal to_shortest_decimal(double v) noexcept {
  // The shortest round-trip form from {fmt}: [-]d[.ddd][e±XX] or plain [-]ddd[.ddd].
  char text[32];
  char* const end = fmt::format_to(text, FMT_COMPILE("{}"), v);
  const char* q = text;
  shortest_decimal out;
  if (*q == '-') {
    out.negative = true;
    ++q;
  }
  char digits[24];
  int ndigits = 0;
  int point = -1;  // digits before the decimal point, as written
  int exponent = 0;
  for (; q < end; ++q) {
    if (*q >= '0' && *q <= '9') {
      if (ndigits < 24) digits[ndigits++] = *q;
    } else if (*q == '.') {
      point = ndigits;
    } else if (*q == 'e') {
      ++q;
      const bool negative = *q == '-';
      if (*q == '-' || *q == '+') ++q;
      for (; q < end; ++q) exponent = exponent * 10 + (*q - '0');
      if (negative) exponent = -exponent;
      break;
    }
  }
  if (point < 0) point = ndigits;
  int first = 0;
  while (first < ndigits - 1 && digits[first] == '0') {
    ++first;
    --point;
  }
  int last = ndigits;
  while (last > first + 1 && digits[last - 1] == '0') --last;
  out.count = last - first;
  for (int i = 0; i < out.count; ++i) out.digits[i] = digits[first + i];
  out.point = point + exponent;
  return out;
}

// d[.ddd]e±XX with at least two exponent digits (`keep_two_digit_negative` false: e-7, as
// Go's encoding/json writes it; true: e-07, as strconv does).
inline char* put_exponent_form(char* p, const shortest_decimal& d, bool keep_two_digit_negative) noexcept {
  *p++ = d.digits[0];
  if (d.count > 1) {
    *p++ = '.';
    for (int i = 1; i < d.count; ++i) *p++ = d.digits[i];
  }
  const int e = d.point - 1;
  const int magnitude_e = e < 0 ? -e : e;
  *p++ = 'e';
  *p++ = e < 0 ? '-' : '+';
  if (magnitude_e >= 100) *p++ = static_cast<char>('0' + magnitude_e / 100);
  if (magnitude_e >= 10 || e > 0 || keep_two_digit_negative) *p++ = static_cast<char>('0' + magnitude_e / 10 % 10);
  *p++ = static_cast<char>('0' + magnitude_e % 10);
  return p;
}

// Plain decimal: 0.000ddd, ddd.ddd or ddd000.
inline char* put_plain_form(char* p, const shortest_decimal& d, bool zero) noexcept {
  if (zero) {
    *p++ = '0';
  } else if (d.point <= 0) {
    *p++ = '0';
    *p++ = '.';
    for (int i = d.point; i < 0; ++i) *p++ = '0';
    for (int i = 0; i < d.count; ++i) *p++ = d.digits[i];
  } else {
    for (int i = 0; i < std::max(d.count, d.point); ++i) {
      if (i == d.point) *p++ = '.';
      *p++ = i < d.count ? d.digits[i] : '0';
    }
  }
  return p;
}

// Go's encoding/json float64: the shortest digits that read back to the same double, laid
// out in plain decimal for 1e-6 <= |v| < 1e21 (and zero), otherwise as d.ddde-7 / d.ddde+21
// (no leading zero in a negative exponent). {fmt} finds the digits; only the layout is ours.
inline char* put_go_json_float(char* p, double v) noexcept {
  const shortest_decimal d = to_shortest_decimal(v);
  if (d.negative) *p++ = '-';
  const double magnitude = v < 0 ? -v : v;
  if (magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e21)) return put_plain_form(p, d, magnitude == 0);
  // strconv writes at least two exponent digits; encoding/json then drops the zero of
  // e-07, so only a positive exponent keeps two.
  return put_exponent_form(p, d, false);
}

// OpenMetrics' canonical number for `le` and `quantile` label values: Go's %g (exponent
// form below 1e-4 and from 1e+06 on, e.g. 1e-05, 1e+06), with ".0" added when there is
// neither a point nor an exponent (10.0, 0.0). +Inf, -Inf and NaN as the format spells them.
inline char* put_canonical_number(char* p, double v) noexcept {
  if (std::isnan(v)) return fmt::format_to(p, "NaN");
  if (std::isinf(v)) return fmt::format_to(p, "{}", v > 0 ? "+Inf" : "-Inf");
  const shortest_decimal d = to_shortest_decimal(v);
  if (d.negative) *p++ = '-';
  const int e = d.point - 1;
  if (v != 0 && (e < -4 || e >= 6)) return put_exponent_form(p, d, true);
  char* const begin = p;
  p = put_plain_form(p, d, v == 0);
  if (std::find(begin, p, '.') == p) {
    *p++ = '.';
    *p++ = '0';
  }
  return p;
}

}  // namespace detail

/// A number as OpenMetrics wants `le` label values written (canonical numbers: `10.0`,
/// `0.5`, `1e+06`, `+Inf`); the same spelling in both text formats keeps a histogram's
/// series the same whichever format a scraper negotiated.
template <char_sink Sink>
void write_canonical_number(Sink& s, double v) {
  detail::write_formatted<40>(s, [v](char* p) { return detail::put_canonical_number(p, v); });
}

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
