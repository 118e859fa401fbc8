// anklet::metrics::redis connection strings:
//   redis://[user[:password]@]host[:port][/db]
//   rediss://[user[:password]@]host[:port][/db]   (TLS; see redis/tls.hpp)
//   unix:///absolute/path[?db=N][&user=U][&password=P]
// User, password and Unix path are percent-decoded. A malformed string gives an
// errc::invalid_url error naming the problem; the message never repeats the password.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "anklet/metrics/detail/compiled.hpp"
#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/redis/error.hpp"

namespace anklet::metrics::redis {

/// Where and as whom to connect. A non-empty unix_path wins over host and port.
struct connection_target {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string unix_path;
  /// AUTH user (Redis 6 ACL); empty means AUTH with the password alone.
  std::string user;
  /// AUTH password; empty means no AUTH.
  std::string password;
  /// SELECT'ed after connecting when not 0.
  int db = 0;
  /// TLS (rediss://): the client needs client_options::tls, which redis/tls.hpp provides.
  bool tls = false;
};

namespace detail {
// Redis's default config has 16 databases; servers can raise it, so only absurd values are refused.
inline constexpr std::uint32_t max_db_number = 1u << 20;
}  // namespace detail

/// Parses a connection string (see the file comment).
[[nodiscard]] result<connection_target> parse_url(std::string_view url);

// In compiled mode (docs/compiled-mode.md) the parser is compiled in the implementation file.
#if ANKLET_METRICS_DEFINE_BODIES
namespace detail {

inline redis::error url_error(std::string_view what) {
  return {errc::invalid_url, "redis URL: " + std::string(what)};
}

inline result<connection_target> parse_unix_url(std::string_view rest) {
  connection_target t;
  t.host.clear();
  t.port = 0;
  std::string_view path = rest;
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    path = rest.substr(0, q);
    query = rest.substr(q + 1);
  }
  if (path.find('#') != std::string_view::npos || query.find('#') != std::string_view::npos) {
    return url_error("fragments ('#') are not allowed");
  }
  if (path.empty()) return url_error("unix socket path is empty");
  if (path.front() != '/') return url_error("unix socket path must be absolute (unix:///path)");
  if (!metrics::detail::percent_decode(path, t.unix_path)) return url_error("invalid percent-encoding in the unix socket path");
  if (t.unix_path.find('\0') != std::string::npos) return url_error("unix socket path contains a NUL byte");
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) return url_error("query parameter without '=' in unix URL");
    std::string_view key = item.substr(0, eq);
    std::string_view val = item.substr(eq + 1);
    if (key == "db") {
      std::uint32_t db = 0;
      if (!metrics::detail::parse_unsigned<std::uint32_t>(val, max_db_number, db)) return url_error("db must be a number from 0 to 1048576");
      t.db = static_cast<int>(db);
    } else if (key == "user") {
      if (!metrics::detail::percent_decode(val, t.user)) return url_error("invalid percent-encoding in the user");
    } else if (key == "password") {
      if (!metrics::detail::percent_decode(val, t.password)) return url_error("invalid percent-encoding in the password");
    } else {
      return url_error("unknown query parameter '" + std::string(key.substr(0, 32)) + "' (known: db, user, password)");
    }
  }
  if (!t.user.empty() && t.password.empty()) return url_error("a user needs a password");
  return t;
}

inline bool valid_host_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_';
}

inline result<connection_target> parse_tcp_url(std::string_view rest) {
  connection_target t;
  if (rest.find('#') != std::string_view::npos) return url_error("fragments ('#') are not allowed");
  if (rest.find('?') != std::string_view::npos) return url_error("query parameters are not supported in redis:// URLs");
  // authority ends at the first '/' after the last '@' (passwords should be percent-encoded,
  // but a literal '@' or '/' inside one is tolerated by splitting at the last '@').
  std::string_view authority = rest;
  std::string_view path;
  std::size_t at = rest.rfind('@');
  std::size_t slash = rest.find('/', at == std::string_view::npos ? 0 : at + 1);
  if (slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash);
  }
  if (at != std::string_view::npos && at < authority.size()) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    std::string_view user = userinfo.substr(0, colon);
    if (colon == std::string_view::npos) return url_error("a user needs a password (redis://user:password@host)");
    std::string_view pass = userinfo.substr(colon + 1);
    if (!metrics::detail::percent_decode(user, t.user)) return url_error("invalid percent-encoding in the user");
    if (!metrics::detail::percent_decode(pass, t.password)) return url_error("invalid percent-encoding in the password");
    if (t.password.empty()) return url_error("the password is empty");
  }
  // host, then an optional port
  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return url_error("unterminated '[' in an IPv6 host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return url_error("unexpected characters after the IPv6 host");
      port = after.substr(1);
      if (port.empty()) return url_error("the port is empty");
    }
    if (host.empty()) return url_error("the host is empty");
    for (char c : host) {
      if (metrics::detail::hex_value(c) < 0 && c != ':' && c != '.') return url_error("invalid character in the IPv6 host");
    }
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return url_error("the port is empty");
    }
    if (host.empty()) return url_error("the host is empty");
    for (char c : host) {
      if (!valid_host_char(c)) return url_error("invalid character in the host");
    }
  }
  t.host.assign(host);
  if (!port.empty()) {
    std::uint32_t p = 0;
    if (!metrics::detail::parse_unsigned<std::uint32_t>(port, 65535, p) || p == 0) return url_error("the port must be a number from 1 to 65535");
    t.port = static_cast<std::uint16_t>(p);
  }
  if (path.size() > 1) {
    std::uint32_t db = 0;
    if (!metrics::detail::parse_unsigned<std::uint32_t>(path.substr(1), max_db_number, db)) {
      return url_error("the path must be a database number from 0 to 1048576 (redis://host/2)");
    }
    t.db = static_cast<int>(db);
  }
  return t;
}

}  // namespace detail

ANKLET_METRICS_INLINE result<connection_target> parse_url(std::string_view url) {
  if (metrics::detail::istarts_with(url, "redis://")) return detail::parse_tcp_url(url.substr(8));
  if (metrics::detail::istarts_with(url, "unix://")) return detail::parse_unix_url(url.substr(7));
  if (metrics::detail::istarts_with(url, "rediss://")) {
    auto t = detail::parse_tcp_url(url.substr(9));
    if (t) t->tls = true;
    return t;
  }
  if (url.empty()) return detail::url_error("empty");
  return detail::url_error("unknown scheme (expected redis://, rediss:// or unix://)");
}
#endif  // ANKLET_METRICS_DEFINE_BODIES

}  // namespace anklet::metrics::redis
