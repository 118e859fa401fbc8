// anklet::metrics::http request parser: an incremental, bounded HTTP/1.0 and 1.1 request
// reader for the metrics responder.
//
// Bytes are fed as they arrive; the parser keeps only the request head (request line and
// headers), each part bounded by request_limits, and counts a body away without storing it.
// It stops at the end of one request, so pipelined bytes stay with the caller for the next.
// Errors are sticky and carry the HTTP status to answer (400, 413, 414, 431, 501, 505).
// No dependency beyond the standard library; nothing here allocates more than the bytes
// received justify.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "anklet/metrics/detail/text.hpp"

namespace anklet::metrics::http {

/// Bounds on one request. The defaults follow common servers (cpp-httplib, nginx).
struct request_limits {
  static constexpr std::size_t default_max_request_line = 8 * 1024;
  static constexpr std::size_t default_max_header_bytes = 16 * 1024;
  static constexpr std::size_t default_max_header_count = 100;
  static constexpr std::size_t default_max_body_bytes = 64 * 1024;

  /// Longest request line (method, target, version); beyond it the answer is 414.
  std::size_t max_request_line = default_max_request_line;
  /// All header lines together, line ends included; beyond it the answer is 431.
  std::size_t max_header_bytes = default_max_header_bytes;
  /// Most header fields; beyond it the answer is 431.
  std::size_t max_header_count = default_max_header_count;
  /// A body (which GET and HEAD do not need) is read and discarded up to this size;
  /// a larger announced body is answered 413.
  std::size_t max_body_bytes = default_max_body_bytes;
};

/// One header field; both views point into the parser and stay valid until its next
/// feed() or reset().
struct header_field {
  std::string_view name;
  std::string_view value;
};

namespace detail {

using metrics::detail::iequals;

// RFC 9110 token characters (method and header names).
[[nodiscard]] constexpr bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

[[nodiscard]] constexpr bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

[[nodiscard]] constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace detail

/// Decodes %XX escapes of `in` into `out` (replacing its content); with `plus_is_space`
/// (query strings) '+' becomes a space. Returns false on a malformed escape.
using metrics::detail::percent_decode;

/// Calls `f(name, value)` for each `name=value` pair of a raw query string (either order,
/// any number, empty pairs skipped), both percent-decoded; `f` returns false to stop early.
/// Lenient as Go's url.ParseQuery, which both Go programs use: a pair with a malformed escape
/// or a `;` is skipped and the others are still visited. Returns false when a pair was skipped.
template <class F>
bool for_each_query_param(std::string_view query, F&& f) {
  std::string name;
  std::string value;
  bool all_good = true;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const auto raw_name = pair.substr(0, eq);
    const auto raw_value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (pair.find(';') != std::string_view::npos || !percent_decode(raw_name, name, true) ||
        !percent_decode(raw_value, value, true)) {
      all_good = false;
      continue;
    }
    if (!f(std::string_view(name), std::string_view(value))) return all_good;
  }
  return all_good;
}

/// The first value of `name` in a raw query string, as Go's `URL.Query().Get` finds it
/// (see for_each_query_param); nothing when absent.
[[nodiscard]] inline std::optional<std::string> query_value(std::string_view query, std::string_view name) {
  std::optional<std::string> found;
  for_each_query_param(query, [&](std::string_view n, std::string_view v) {
    if (n != name) return true;
    found.emplace(v);
    return false;
  });
  return found;
}

/// A parsed request head. Views point into the parser; valid until its next feed() or reset().
struct request {
  std::string_view method;  ///< as sent, case-sensitive (RFC 9110)
  std::string_view target;  ///< the raw request-target
  std::string_view path;    ///< raw (still percent-encoded) path of the target
  std::string_view query;   ///< raw query without '?', empty when absent
  int version_minor = 1;    ///< HTTP/1.0 or HTTP/1.1
  bool keep_alive = true;   ///< after this request, per version and Connection header
  std::uint64_t content_length = 0;
  std::vector<header_field> headers;

  /// The first header named `name` (case-insensitive), or an empty view.
  [[nodiscard]] std::string_view header(std::string_view name) const noexcept {
    for (const auto& h : headers) {
      if (detail::iequals(h.name, name)) return h.value;
    }
    return {};
  }
  [[nodiscard]] bool has_header(std::string_view name) const noexcept {
    for (const auto& h : headers) {
      if (detail::iequals(h.name, name)) return true;
    }
    return false;
  }
};

/// Where a parser stands.
enum class parse_state : std::uint8_t {
  need_more,  ///< the request is not complete yet
  complete,   ///< get() holds a full request; reset() before the next one
  failed,     ///< malformed or over a limit; error_status() says what to answer
};

/// Incremental request parser; one per connection, reused through reset().
class request_parser {
 public:
  explicit request_parser(request_limits limits = {}) noexcept : limits_(limits) {}

  /// Consumes bytes of the current request and returns how many it took. Stops after the
  /// end of a request (state() == complete) or at an error; the rest belongs to the next.
  std::size_t feed(std::string_view data) {
    std::size_t used = 0;
    while (used < data.size() && state_ == parse_state::need_more) {
      const auto rest = data.substr(used);
      if (phase_ == phase::body) {
        const auto n = rest.size() < body_left_ ? rest.size() : static_cast<std::size_t>(body_left_);
        body_left_ -= n;
        used += n;
        if (body_left_ == 0) state_ = parse_state::complete;
        continue;
      }
      const auto nl = rest.find('\n');
      const auto take = nl == std::string_view::npos ? rest.size() : nl + 1;
      if (!within_limits(take)) return used + take;
      head_.append(rest.data(), take);
      used += take;
      if (nl != std::string_view::npos) end_of_line();
    }
    return used;
  }

  [[nodiscard]] parse_state state() const noexcept { return state_; }
  /// The status to answer after a failure (400, 413, 414, 431, 501 or 505).
  [[nodiscard]] int error_status() const noexcept { return error_status_; }
  /// A short reason for the failure, for the response body.
  [[nodiscard]] std::string_view error_reason() const noexcept { return error_reason_; }
  /// True once any byte of the current request (other than leading blank lines) arrived.
  [[nodiscard]] bool started() const noexcept { return !head_.empty() || phase_ != phase::request_line; }

  /// The request; meaningful when state() == complete.
  [[nodiscard]] const request& get() const noexcept { return req_; }

  /// Forgets the current request, keeping buffers for the next one on the connection.
  void reset() noexcept {
    head_.clear();
    line_start_ = 0;
    headers_start_ = 0;
    blank_prefix_ = 0;
    lines_.clear();
    body_left_ = 0;
    phase_ = phase::request_line;
    state_ = parse_state::need_more;
    error_status_ = 0;
    error_reason_ = {};
    auto headers = std::move(req_.headers);
    headers.clear();
    req_ = request{};
    req_.headers = std::move(headers);
  }

  [[nodiscard]] const request_limits& limits() const noexcept { return limits_; }

 private:
  enum class phase : std::uint8_t { request_line, headers, body };

  void fail(int status, std::string_view reason) noexcept {
    state_ = parse_state::failed;
    error_status_ = status;
    error_reason_ = reason;
  }

  // Checked before appending, so the head never grows past its bounds.
  bool within_limits(std::size_t take) noexcept {
    if (phase_ == phase::request_line) {
      const auto line = head_.size() - line_start_;
      if (take > limits_.max_request_line || line > limits_.max_request_line - take) {
        fail(414, "request line too long");
        return false;
      }
      return true;
    }
    const auto used = head_.size() - headers_start_;
    if (take > limits_.max_header_bytes || used > limits_.max_header_bytes - take) {
      fail(431, "request header fields too large");
      return false;
    }
    return true;
  }

  void end_of_line() {
    auto line = std::string_view(head_).substr(line_start_);
    line.remove_suffix(1);  // '\n'
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (phase_ == phase::request_line) {
      if (line.empty()) {
        // RFC 9112 lets a server ignore blank lines before a request; bound them too.
        blank_prefix_ += head_.size() - line_start_;
        head_.clear();
        if (blank_prefix_ > limits_.max_request_line) fail(400, "too many blank lines before the request");
        return;
      }
      lines_.emplace_back(line_start_, line.size());
      phase_ = phase::headers;
      line_start_ = head_.size();
      headers_start_ = head_.size();
      return;
    }
    if (line.empty()) {
      finish_head();
      return;
    }
    if (lines_.size() - 1 >= limits_.max_header_count) {  // lines_[0] is the request line
      fail(431, "too many header fields");
      return;
    }
    lines_.emplace_back(line_start_, line.size());
    line_start_ = head_.size();
  }

  void finish_head() {
    const std::string_view head(head_);
    if (!parse_request_line(head.substr(lines_[0].first, lines_[0].second))) return;
    req_.headers.reserve(lines_.size() - 1);
    bool have_length = false;
    for (std::size_t i = 1; i < lines_.size(); ++i) {
      const auto line = head.substr(lines_[i].first, lines_[i].second);
      if (line.front() == ' ' || line.front() == '\t') return fail(400, "obsolete header line folding");
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) return fail(400, "header line without a colon");
      const auto name = line.substr(0, colon);
      if (!detail::is_token(name)) return fail(400, "malformed header name");
      const auto value = detail::trim_ows(line.substr(colon + 1));
      for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) return fail(400, "control character in a header value");
      }
      req_.headers.push_back({name, value});
      if (detail::iequals(name, "content-length")) {
        std::uint64_t n = 0;
        if (!parse_length(value, n)) return fail(400, "malformed Content-Length");
        if (have_length && n != req_.content_length) return fail(400, "conflicting Content-Length");
        have_length = true;
        req_.content_length = n;
      } else if (detail::iequals(name, "transfer-encoding")) {
        // A metrics request has no use for a body; decoding chunks only to drop them is
        // attack surface. Answer and close instead.
        return fail(501, "Transfer-Encoding in requests is not supported");
      } else if (detail::iequals(name, "connection")) {
        apply_connection(value);
      }
    }
    if (req_.content_length > limits_.max_body_bytes) return fail(413, "request body too large");
    body_left_ = req_.content_length;
    if (body_left_ == 0) {
      state_ = parse_state::complete;
    } else {
      phase_ = phase::body;
    }
  }

  bool parse_request_line(std::string_view line) {
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
      fail(400, "malformed request line");
      return false;
    }
    req_.method = line.substr(0, sp1);
    req_.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const auto version = line.substr(sp2 + 1);
    if (!detail::is_token(req_.method) || req_.target.empty()) {
      fail(400, "malformed request line");
      return false;
    }
    for (const char c : req_.target) {
      const auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u == 0x7f) {
        fail(400, "malformed request target");
        return false;
      }
    }
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
        version[5] > '9' || version[7] < '0' || version[7] > '9') {
      fail(400, "malformed HTTP version");
      return false;
    }
    if (version[5] != '1') {
      fail(505, "HTTP version not supported");
      return false;
    }
    req_.version_minor = version[7] == '0' ? 0 : 1;
    req_.keep_alive = req_.version_minor >= 1;
    auto target = req_.target;
    if (target.front() != '/') {
      // absolute-form (RFC 9112 3.2.2): drop scheme and authority.
      const auto scheme_end = target.find("://");
      if (scheme_end == std::string_view::npos) {
        req_.path = target;  // '*' or junk: routed as an unknown path
        return true;
      }
      const auto slash = target.find('/', scheme_end + 3);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    const auto q = target.find('?');
    req_.path = target.substr(0, q);
    if (q != std::string_view::npos) {
      auto query = target.substr(q + 1);
      query = query.substr(0, query.find('#'));
      req_.query = query;
    }
    return true;
  }

  void apply_connection(std::string_view value) noexcept {
    while (!value.empty()) {
      const auto comma = value.find(',');
      const auto token = detail::trim_ows(value.substr(0, comma));
      value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
      if (detail::iequals(token, "close")) {
        req_.keep_alive = false;
        return;
      }
      if (detail::iequals(token, "keep-alive")) req_.keep_alive = true;
    }
  }

  static bool parse_length(std::string_view s, std::uint64_t& out) noexcept {
    return s.size() <= 19 && metrics::detail::parse_unsigned(s, ~std::uint64_t{0}, out);
  }

  request_limits limits_;
  std::string head_;
  // (offset, length) of the request line and each header line in head_; views are made
  // only once the head is complete, because head_ may move while it grows.
  std::vector<std::pair<std::size_t, std::size_t>> lines_;
  std::size_t line_start_ = 0;
  std::size_t headers_start_ = 0;
  std::size_t blank_prefix_ = 0;
  std::uint64_t body_left_ = 0;
  phase phase_ = phase::request_line;
  parse_state state_ = parse_state::need_more;
  int error_status_ = 0;
  std::string_view error_reason_;
  request req_;
};

}  // namespace anklet::metrics::http
