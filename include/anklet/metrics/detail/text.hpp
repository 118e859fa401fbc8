// anklet::metrics text helpers shared by the parsers and writers: ASCII case folding,
// word-at-a-time byte scans, two-digit decimals, hex digits, percent-decoding, well-formed
// UTF-8 and strict unsigned decimals. Standard headers only, so that any header may use them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace anklet::metrics::detail {

[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// ASCII case-insensitive equality (HTTP header names, tokens, "NaN").
[[nodiscard]] constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

/// Whether `s` starts with `prefix`, ignoring ASCII case.
[[nodiscard]] constexpr bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Word-at-a-time scanning: label values, JSON strings and the payloads' strings are nearly
// always plain ASCII, so 8 bytes are checked at once and only a word holding a byte of
// interest is looked at byte by byte.
inline constexpr std::uint64_t ones = 0x0101010101010101ull;
inline constexpr std::uint64_t highs = 0x8080808080808080ull;

// Non-zero when some byte of w equals c.
constexpr std::uint64_t has_byte(std::uint64_t w, unsigned char c) noexcept {
  const std::uint64_t x = w ^ (ones * c);
  return (x - ones) & ~x & highs;
}

// Non-zero when some byte of w is a control character (below 0x20).
constexpr std::uint64_t has_control(std::uint64_t w) noexcept { return (w - ones * 0x20) & ~w & highs; }

inline std::uint64_t load8(const unsigned char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

inline constexpr char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/// The last two decimal digits of v, leading zero kept; returns the end.
[[gnu::always_inline]] inline char* put2(char* p, unsigned v) noexcept {
  std::memcpy(p, digit_pairs + 2 * (v % 100), 2);
  return p + 2;
}

/// The value of a hex digit, -1 for any other character.
[[nodiscard]] constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Decodes %XX escapes of `in` into `out` (replacing its content); with `plus_is_space`
/// (query strings) '+' becomes a space. False on a truncated or non-hex escape.
inline bool percent_decode(std::string_view in, std::string& out, bool plus_is_space = false) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (in.size() - i < 3) return false;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

/// Length of the well-formed UTF-8 sequence starting at p[0] (`left` bytes available, at
/// least 1), or 0 when the bytes there are not one. Same acceptance as Go's
/// utf8.DecodeRune and RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
[[nodiscard]] constexpr std::size_t utf8_sequence_length(const unsigned char* p, std::size_t left) noexcept {
  const unsigned char b0 = p[0];
  if (b0 < 0x80) return 1;
  const auto cont = [](unsigned char b) { return b >= 0x80 && b <= 0xBF; };
  if (b0 >= 0xC2 && b0 <= 0xDF) return left >= 2 && cont(p[1]) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3) return 0;
    const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;
    return p[1] >= lo && p[1] <= hi && cont(p[2]) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4) return 0;
    const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return p[1] >= lo && p[1] <= hi && cont(p[2]) && cont(p[3]) ? 4 : 0;
  }
  return 0;
}

/// Offset of the first byte of `s` that does not start a well-formed sequence, or npos.
[[nodiscard]] inline std::size_t first_invalid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t n = utf8_sequence_length(p + i, s.size() - i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

/// Code points of `s` as a writer that replaces each byte that is not valid UTF-8 with
/// U+FFFD shows it: every such byte counts as one.
[[nodiscard]] inline std::size_t utf8_code_points(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++n) {
    const std::size_t len = utf8_sequence_length(p + i, s.size() - i);
    i += len == 0 ? 1 : len;
  }
  return n;
}

/// Strict unsigned decimal: one or more ASCII digits, nothing else, at most `max`. No sign,
/// no blanks; leading zeros are accepted. False (and `out` unchanged) otherwise.
template <class Unsigned>
constexpr bool parse_unsigned(std::string_view s, Unsigned max, Unsigned& out) noexcept {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (static_cast<std::uint64_t>(max) - digit) / 10) return false;
    v = v * 10 + digit;
  }
  out = static_cast<Unsigned>(v);
  return true;
}

}  // namespace anklet::metrics::detail
