// anklet::metrics::http content negotiation: which of the two Prometheus text formats an
// `Accept` header asks for (docs/http.md, "Negotiation"). Prometheus sends
// `application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,
// text/plain;version=0.0.4;q=0.5,*/*;q=0.1` by default; curl sends `*/*`.
//
// The header is untrusted: it is read in one pass, never copied, with at most
// max_media_ranges ranges and max_parameters parameters a range looked at (the request
// parser already bounds its length). Malformed parts are skipped, not fatal, so that a
// scraper with an odd header still gets an answer. Standard library only; fuzzed
// (tests/fuzz/fuzz_accept.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "anklet/metrics/detail/text.hpp"

namespace anklet::metrics::http {

/// One media range of an Accept header. Views point into the header.
struct media_range {
  std::string_view type;     ///< e.g. "text", or "*"; compare with iequals
  std::string_view subtype;  ///< e.g. "plain", or "*"
  /// The raw value of the `version` parameter (quotes removed), empty when absent.
  std::string_view version;
  bool has_version = false;
  /// The version was a quoted string with escapes: it matches no version we serve.
  bool version_escaped = false;
  /// The weight in thousandths: q=0.5 is 500; 1000 without a q parameter.
  std::uint16_t q = 1000;
};

/// Bounds on what one Accept header value is read for.
inline constexpr std::size_t max_media_ranges = 64;
inline constexpr std::size_t max_parameters = 16;

namespace detail {

using metrics::detail::iequals;

// RFC 9110 qvalue: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ], in thousandths.
[[nodiscard]] constexpr bool parse_qvalue(std::string_view s, std::uint16_t& out) noexcept {
  if (s.empty() || (s[0] != '0' && s[0] != '1')) return false;
  if (s.size() > 1 && (s[1] != '.' || s.size() > 5)) return false;
  unsigned value = static_cast<unsigned>(s[0] - '0') * 1000;
  unsigned scale = 100;
  for (std::size_t i = 2; i < s.size(); ++i, scale /= 10) {
    if (s[i] < '0' || s[i] > '9') return false;
    value += static_cast<unsigned>(s[i] - '0') * scale;
  }
  if (value > 1000) return false;
  out = static_cast<std::uint16_t>(value);
  return true;
}

[[nodiscard]] constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

// Reads one media range from `s` starting at `i`, up to the comma that ends it (not
// inside a quoted string); `i` ends past that comma. False when the range is malformed,
// and then it is skipped.
[[nodiscard]] constexpr bool read_media_range(std::string_view s, std::size_t& i, media_range& out) noexcept {
  const auto skip_ows = [&] {
    while (i < s.size() && is_ows(s[i])) ++i;
  };
  const auto token = [&]() -> std::string_view {
    const std::size_t begin = i;
    while (i < s.size() && !is_ows(s[i]) && s[i] != '/' && s[i] != ';' && s[i] != ',' && s[i] != '=' && s[i] != '"') ++i;
    return s.substr(begin, i - begin);
  };
  // Skips to past the next comma outside quotes: the end of this range, bad or good.
  const auto skip_rest = [&] {
    bool quoted = false;
    for (; i < s.size(); ++i) {
      if (quoted && s[i] == '\\') {
        ++i;
      } else if (s[i] == '"') {
        quoted = !quoted;
      } else if (!quoted && s[i] == ',') {
        ++i;
        return;
      }
    }
  };
  out = media_range{};
  skip_ows();
  out.type = token();
  if (out.type.empty() || i >= s.size() || s[i] != '/') return skip_rest(), false;
  ++i;
  out.subtype = token();
  if (out.subtype.empty()) return skip_rest(), false;
  bool q_seen = false;
  for (std::size_t params = 0;;) {
    skip_ows();
    if (i >= s.size()) return true;
    if (s[i] == ',') {
      ++i;
      return true;
    }
    if (s[i] != ';') return skip_rest(), false;
    ++i;
    skip_ows();
    if (i < s.size() && (s[i] == ',' || s[i] == ';')) continue;  // an empty parameter
    const std::string_view name = token();
    skip_ows();
    if (name.empty() || i >= s.size() || s[i] != '=') return skip_rest(), false;
    ++i;
    skip_ows();
    std::string_view value;
    bool escaped = false;
    if (i < s.size() && s[i] == '"') {
      const std::size_t begin = ++i;
      for (; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\') {
          escaped = true;
          ++i;
        }
      }
      if (i >= s.size()) return false;  // unterminated: nothing follows that could be read
      value = s.substr(begin, i - begin);
      ++i;
    } else {
      value = token();
    }
    if (++params > max_parameters) return skip_rest(), false;
    // After q come accept extensions, which say nothing about the media type.
    if (q_seen) continue;
    if (iequals(name, "q")) {
      if (escaped || !parse_qvalue(value, out.q)) return skip_rest(), false;
      q_seen = true;
    } else if (iequals(name, "version")) {
      out.version = value;
      out.has_version = true;
      out.version_escaped = escaped;
    }
  }
}

}  // namespace detail

/// Calls `f(const media_range&)` for each well-formed media range of one Accept header
/// value, in order, at most max_media_ranges of them; malformed ranges are skipped.
template <class F>
void for_each_media_range(std::string_view accept, F&& f) {
  std::size_t i = 0;
  for (std::size_t n = 0; i < accept.size() && n < max_media_ranges; ++n) {
    media_range r;
    const std::size_t before = i;
    const bool ok = detail::read_media_range(accept, i, r);
    if (ok) f(static_cast<const media_range&>(r));
    if (i == before) break;  // no progress: nothing more can be read
  }
}

/// How a client's Accept headers weigh OpenMetrics 1.0 against Prometheus text 0.0.4.
/// Feed it every Accept header value (several header fields count as one list), then ask
/// prefers_openmetrics().
///
/// A media range applies to a format when its type and subtype match (`*` matching any)
/// and its `version` parameter, when given, is one the format answers:
/// `application/openmetrics-text` with version 1.0.0 or 0.0.1 (both are answered with
/// OpenMetrics 1.0.0, as the Go client does), `text/plain` with version 0.0.4. Among the
/// ranges that apply to a format the most specific decides its weight (RFC 9110, 12.5.1):
/// a named type with a version over a named type over `type/*` over `*/*`.
class accept_weights {
 public:
  /// Reads one Accept header value.
  void add(std::string_view accept) noexcept {
    for_each_media_range(accept, [this](const media_range& r) {
      consider(r, om_, "application", "openmetrics-text", om_version);
      consider(r, text_, "text", "plain", text_version);
    });
  }

  /// True when OpenMetrics weighs more than the 0.0.4 text, or as much and was named
  /// (`*/*` alone keeps the 0.0.4 text, as before negotiation existed). A weight of 0 is
  /// never preferred.
  [[nodiscard]] bool prefers_openmetrics() const noexcept {
    if (om_.q == 0) return false;
    return om_.q > text_.q || (om_.q == text_.q && om_.specificity >= named);
  }

  /// The weights found, in thousandths (0 when nothing applied).
  [[nodiscard]] std::uint16_t openmetrics_q() const noexcept { return om_.q; }
  [[nodiscard]] std::uint16_t text_q() const noexcept { return text_.q; }

 private:
  struct weight {
    int specificity = -1;  // -1: no range applied
    std::uint16_t q = 0;
  };
  static constexpr int named = 2;

  static bool om_version(std::string_view v) noexcept { return v == "1.0.0" || v == "0.0.1"; }
  static bool text_version(std::string_view v) noexcept { return v == "0.0.4"; }

  template <class Version>
  static void consider(const media_range& r, weight& w, std::string_view type, std::string_view subtype,
                       Version version_ok) noexcept {
    int specificity = 0;
    if (r.type == "*") {
      if (r.subtype != "*") return;  // "*/plain" is not a media range
    } else if (!detail::iequals(r.type, type)) {
      return;
    } else if (r.subtype == "*") {
      specificity = 1;
    } else if (!detail::iequals(r.subtype, subtype)) {
      return;
    } else {
      specificity = named;
      if (r.has_version) {
        if (r.version_escaped || !version_ok(r.version)) return;
        specificity = named + 1;
      }
    }
    if (specificity > w.specificity || (specificity == w.specificity && r.q > w.q)) {
      w.specificity = specificity;
      w.q = r.q;
    }
  }

  weight om_;
  weight text_;
};

/// Whether one Accept header value prefers OpenMetrics (see accept_weights).
[[nodiscard]] inline bool prefers_openmetrics(std::string_view accept) noexcept {
  accept_weights w;
  w.add(accept);
  return w.prefers_openmetrics();
}

}  // namespace anklet::metrics::http
