// anklet::metrics decimal text to double, the same on every platform and under every
// locale. std::from_chars for double is used where the standard library has it; Apple's
// libc++ does not, and strtod follows the C locale (a decimal comma under de_DE), so the
// fallback reads through a stream imbued with the classic locale. Callers check the
// grammar first (JSON, the Prometheus text format and the command line differ), which
// keeps both paths to the same inputs.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <limits>
#include <locale>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

namespace anklet::metrics::detail {

/// [-]digits[.digits] or [-].digits, then an optional (e|E)[+-]digits: what every caller
/// accepts, with no sign '+', no blanks, no hex, no inf or nan.
constexpr bool is_plain_decimal(std::string_view s) noexcept {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - from;
  };
  if (i < s.size() && s[i] == '-') ++i;
  std::size_t mantissa = digits();
  if (i < s.size() && s[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

/// The stream path, compiled everywhere so that it is tested where from_chars exists too.
/// `s` must satisfy is_plain_decimal. False when the value is out of the range of double.
inline bool plain_decimal_to_double_stream(std::string_view s, double& out) noexcept {
  try {
    std::istringstream in{std::string(s)};
    in.imbue(std::locale::classic());
    double v = 0;
    in >> v;
    // Short of the end means the stream read less than the caller validated.
    if (!in.eof()) return false;
    // failbit on a validated decimal is a range error, with the value still stored: too
    // large (infinity, or the largest double with libstdc++) is an error as for
    // from_chars; too small (libc++ flags subnormals and zero) is a value, as in Go.
    if (in.fail() && !(std::fabs(v) < std::numeric_limits<double>::min())) return false;
    out = v;
    return true;
  } catch (...) {  // std::bad_alloc from the copy: report it as a parse failure
    return false;
  }
}

/// Converts `s` (which must satisfy is_plain_decimal) to the nearest double; false when it
/// is out of the range of double.
inline bool plain_decimal_to_double(std::string_view s, double& out) noexcept {
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return false;
  out = v;
  return true;
#else
  return plain_decimal_to_double_stream(s, out);
#endif
}

}  // namespace anklet::metrics::detail
