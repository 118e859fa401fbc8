// anklet::metrics testing kit, what the two exposition readers share: their limits and
// errors, Prometheus's number and timestamp spellings, the line being read and how a
// reader fails (exposition_reader.hpp for Prometheus text 0.0.4, openmetrics_reader.hpp
// for OpenMetrics 1.0.0). Standard library only.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "anklet/metrics/detail/decimal.hpp"
#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/testing/exposition.hpp"

namespace anklet::metrics::testing {

/// Bounds on what the reader accepts; beyond them the text is rejected, never truncated.
/// The defaults fit any exposition this library writes for thousands of plugins.
struct exposition_limits {
  std::size_t max_input_bytes = 16u << 20;  ///< the whole text
  std::size_t max_line_bytes = 64u << 10;   ///< one line, without its newline
  std::size_t max_labels = 64;              ///< labels of one sample
  std::size_t max_samples = 1u << 20;       ///< samples in the whole text
};

/// Why a text was rejected: 1-based line and column (byte) of the offence, and what it was.
struct exposition_error {
  std::size_t line = 0;
  std::size_t column = 0;
  std::string message;

  /// "line L, column C: message".
  [[nodiscard]] std::string to_string() const {
    return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message;
  }
};

/// Thrown by parse_exposition and scrape when the text is not a valid exposition.
class exposition_parse_error : public std::runtime_error {
 public:
  explicit exposition_parse_error(exposition_error e)
      : std::runtime_error("invalid Prometheus exposition: " + e.to_string()), error_(std::move(e)) {}
  [[nodiscard]] const exposition_error& error() const noexcept { return error_; }

 private:
  exposition_error error_;
};

namespace detail {

using metrics::detail::first_invalid_utf8;
using metrics::detail::iequals;

constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }
constexpr bool is_alpha_(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_metric_name_char(char c, bool first) noexcept {
  return is_alpha_(c) || c == ':' || (!first && is_digit(c));
}
constexpr bool is_label_name_char(char c, bool first) noexcept { return is_alpha_(c) || (!first && is_digit(c)); }


// Go's strconv.ParseFloat as the exposition uses it, decimal forms only: [+-]digits
// [.digits] [e[+-]digits], NaN, and [+-]Inf / Infinity (any case). Out of range fails.
inline bool parse_value(std::string_view t, double& v) noexcept {
  if (t.empty()) return false;
  bool negative = false;
  std::string_view body = t;
  if (body[0] == '+' || body[0] == '-') {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (iequals(body, "inf") || iequals(body, "infinity")) {
    v = negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  if (iequals(t, "nan")) {
    v = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  std::size_t i = 0;
  std::size_t digits = 0;
  const auto skip_digits = [&] {
    while (i < body.size() && is_digit(body[i])) {
      ++i;
      ++digits;
    }
  };
  skip_digits();
  if (i < body.size() && body[i] == '.') {
    ++i;
    skip_digits();
  }
  if (digits == 0) return false;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    const std::size_t exp_begin = i;
    while (i < body.size() && is_digit(body[i])) ++i;
    if (i == exp_begin) return false;
  }
  if (i != body.size()) return false;
  double parsed = 0;
  if (!metrics::detail::plain_decimal_to_double(body, parsed)) return false;
  v = negative ? -parsed : parsed;
  return true;
}

inline bool parse_timestamp(std::string_view t, std::int64_t& ts) noexcept {
  if (t.empty() || t[0] == '+') return false;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), ts);
  return r.ec == std::errc{} && r.ptr == t.data() + t.size();
}

// What both text readers keep of the line being
// read, and how they fail: every method that can fail returns false after fail().
class line_reader {
 public:
  line_reader(exposition& out, const exposition_limits& limits) : out_(out), limits_(limits) {}
  [[nodiscard]] const exposition_error& error() const noexcept { return error_; }

 protected:
  bool fail(std::size_t line, std::size_t column, std::string message) {
    error_ = {line, column, std::move(message)};
    return false;
  }
  // pos: 0-based offset in the current line.
  bool fail_at(std::size_t pos, std::string message) { return fail(line_, pos + 1, std::move(message)); }
  bool fail_line_too_long() {
    return fail_at(limits_.max_line_bytes, "line longer than the limit of " + std::to_string(limits_.max_line_bytes) +
                                               " bytes");
  }
  bool fail_input_too_large(std::size_t size) {
    return fail(1, 1, "input of " + std::to_string(size) + " bytes exceeds the limit of " +
                          std::to_string(limits_.max_input_bytes));
  }

  [[nodiscard]] bool at_end() const noexcept { return pos_ >= line_text_.size(); }
  [[nodiscard]] char peek() const noexcept { return at_end() ? '\0' : line_text_[pos_]; }

  // A metric name at pos_, or an error naming `what`.
  bool metric_name(std::string_view& name, std::string_view what) {
    const std::size_t begin = pos_;
    while (!at_end() && is_metric_name_char(line_text_[pos_], pos_ == begin)) ++pos_;
    if (pos_ == begin) return fail_at(begin, "expected " + std::string(what));
    name = line_text_.substr(begin, pos_ - begin);
    return true;
  }

  exposition& out_;
  const exposition_limits& limits_;
  exposition_error error_;
  std::size_t line_ = 0;
  std::string_view line_text_;
  std::size_t pos_ = 0;
};

// Runs a reader over `text`; on failure the reason goes to `*error` when given.
template <class Reader>
bool read_with(std::string_view text, exposition& out, const exposition_limits& limits, exposition_error* error) {
  Reader reader(out, limits);
  if (reader.read(text)) return true;
  if (error != nullptr) *error = reader.error();
  return false;
}

// The same, throwing exposition_parse_error.
template <class Reader>
exposition parse_with(std::string_view text, const exposition_limits& limits) {
  exposition out;
  exposition_error error;
  if (!read_with<Reader>(text, out, limits, &error)) throw exposition_parse_error(std::move(error));
  return out;
}

}  // namespace detail

}  // namespace anklet::metrics::testing
