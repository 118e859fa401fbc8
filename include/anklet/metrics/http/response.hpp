// anklet::metrics::http responses: what a route answers (status, type, body, the few headers
// routes set) and how the server spells the status line and the Date header. Routes never
// write bytes themselves, so framing (Content-Length, Connection, HEAD) stays in one place.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "anklet/metrics/core/sole_owner.hpp"

namespace anklet::metrics::http {

/// The Content-Type of every plain-text answer (errors, /healthcheck).
inline constexpr std::string_view text_plain = "text/plain; charset=utf-8";

/// A body shared between a cache and the connections still sending it, sent without a copy.
struct shared_body {
  fmt::memory_buffer bytes;
};

/// Where a cache renders a body that connections then send. A body a connection still holds
/// stays its own; the one before it, once every connection let go, is written again with its
/// capacity, so re-rendering while slow readers hold earlier bodies neither allocates nor
/// grows a buffer from scratch each time.
struct reusable_body {
  std::shared_ptr<shared_body> current;
  std::shared_ptr<shared_body> retired;

  /// Makes `current` a body nobody else holds, emptied, and returns its buffer.
  fmt::memory_buffer& renew() {
    if (!metrics::detail::sole_owner(current)) {
      auto next = metrics::detail::sole_owner(retired) ? std::move(retired) : std::make_shared<shared_body>();
      if (current) next->bytes.reserve(current->bytes.size());
      retired = std::move(current);
      current = std::move(next);
    }
    current->bytes.clear();
    return current->bytes;
  }
};

/// A route's answer. Content-Length, Date and Connection are the server's; HEAD answers
/// carry the Content-Length of the body (`shared` and `body`) and send none of it.
struct response {
  int status = 200;
  std::string content_type{text_plain};
  /// The body, or with `shared` set, what follows it (a part that changes per request).
  std::string body;
  /// The Allow header's value, for 405 answers.
  std::string allow;
  /// More header lines, each ending in CRLF (e.g. a WWW-Authenticate challenge).
  std::string headers;
  /// Seconds since the data of this answer was read (the Age header), when it was.
  std::optional<std::int64_t> age_seconds;
  /// When set, sent first (without a copy), then `body`.
  std::shared_ptr<const shared_body> shared;

  /// Back to a plain 200, keeping the strings' capacity (the server reuses one response).
  void reset() {
    status = 200;
    content_type.assign(text_plain);
    body.clear();
    allow.clear();
    headers.clear();
    age_seconds.reset();
    shared.reset();
  }
  /// A plain-text answer.
  void text(int code, std::string_view text_body) {
    status = code;
    content_type.assign(text_plain);
    body.assign(text_body);
  }
  /// Adds `field` to the answer's Vary header: one line names every request header the
  /// answer depends on (Accept for the negotiated format, Accept-Encoding for gzip).
  void add_vary(std::string_view field) {
    constexpr std::string_view name = "Vary: ";
    for (std::size_t at = 0, end; (end = headers.find("\r\n", at)) != std::string::npos; at = end + 2) {
      if (headers.compare(at, name.size(), name) == 0) {
        headers.insert(end, std::string(", ").append(field));
        return;
      }
    }
    headers.append(name).append(field).append("\r\n");
  }
  [[nodiscard]] std::size_t body_size() const noexcept { return (shared ? shared->bytes.size() : 0) + body.size(); }
  /// The whole body as one string (a copy of `shared`), for callers that are not a server.
  [[nodiscard]] std::string full_body() const {
    if (!shared) return body;
    std::string all;
    all.reserve(body_size());
    all.append(shared->bytes.data(), shared->bytes.size());
    all += body;
    return all;
  }
};

/// An answer from server_options::handler.
using handler_response = response;

namespace detail {

[[nodiscard]] inline std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

// IMF-fixdate for the Date header, built by hand: strftime's names follow the locale.
inline void http_date(std::time_t t, std::string& out) {
  static constexpr std::array<std::string_view, 7> days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  out = fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", days[static_cast<std::size_t>(tm.tm_wday % 7)],
                    tm.tm_mday, months[static_cast<std::size_t>(tm.tm_mon % 12)], tm.tm_year + 1900, tm.tm_hour,
                    tm.tm_min, tm.tm_sec);
}

}  // namespace detail
}  // namespace anklet::metrics::http
