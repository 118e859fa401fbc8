// anklet::metrics::http authorization: HTTP Basic and Bearer credentials, compared in
// constant time, and the challenge of a 401 (docs/http.md, "Authentication"). Routes ask
// once per request whether it may pass.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "anklet/metrics/http/request_parser.hpp"
#include "anklet/metrics/http/response.hpp"

namespace anklet::metrics::http {
namespace detail {

inline std::string base64(std::string_view in) {
  static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16U) |
                   (static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8U) |
                   static_cast<unsigned>(static_cast<unsigned char>(in[i + 2]));
    out += alphabet[(n >> 18U) & 63U];
    out += alphabet[(n >> 12U) & 63U];
    out += alphabet[(n >> 6U) & 63U];
    out += alphabet[n & 63U];
  }
  if (i < in.size()) {
    auto n = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16U;
    if (i + 1 < in.size()) n |= static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8U;
    out += alphabet[(n >> 18U) & 63U];
    out += alphabet[(n >> 12U) & 63U];
    out += i + 1 < in.size() ? alphabet[(n >> 6U) & 63U] : '=';
    out += '=';
  }
  return out;
}

/// Compares a secret without an early exit, so timing does not reveal how much matched.
[[nodiscard]] inline bool constant_time_equals(std::string_view given, std::string_view secret) noexcept {
  unsigned diff = given.size() == secret.size() ? 0U : 1U;
  for (std::size_t i = 0; i < secret.size(); ++i) {
    const auto g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0U;
    diff |= g ^ static_cast<unsigned char>(secret[i]);
  }
  return diff == 0;
}

}  // namespace detail

/// Who may pass: nobody needs credentials unless a Basic user or a Bearer token is set;
/// /healthcheck stays open unless `healthcheck_requires_auth`, for load balancers.
class authenticator {
 public:
  authenticator() = default;
  authenticator(std::string_view basic_user, std::string_view basic_password, std::string bearer_token,
                std::string_view realm, bool healthcheck_requires_auth)
      : bearer_(std::move(bearer_token)), guard_health_(healthcheck_requires_auth) {
    if (!basic_user.empty()) {
      std::string pair(basic_user);
      pair += ':';
      pair += basic_password;
      basic_ = detail::base64(pair);
    }
    required_ = !basic_.empty() || !bearer_.empty();
    if (!basic_.empty()) challenge_ += "WWW-Authenticate: Basic realm=\"" + std::string(realm) + "\", charset=\"UTF-8\"\r\n";
    if (!bearer_.empty()) challenge_ += "WWW-Authenticate: Bearer realm=\"" + std::string(realm) + "\"\r\n";
  }

  /// Whether `req` for the decoded `path` may pass.
  [[nodiscard]] bool allows(const request& req, std::string_view path) const noexcept {
    if (!required_ || (path == "/healthcheck" && !guard_health_)) return true;
    return credentials_match(req.header("authorization"));
  }

  /// The 401 answer, with a challenge per accepted scheme.
  void deny(response& out) const {
    out.text(401, "unauthorized\n");
    out.headers += challenge_;
  }

 private:
  [[nodiscard]] bool credentials_match(std::string_view value) const noexcept {
    const auto space = value.find(' ');
    if (space == std::string_view::npos) return false;
    const auto scheme = value.substr(0, space);
    const auto credentials = detail::trim_ows(value.substr(space + 1));
    if (!basic_.empty() && detail::iequals(scheme, "basic")) return detail::constant_time_equals(credentials, basic_);
    if (!bearer_.empty() && detail::iequals(scheme, "bearer")) return detail::constant_time_equals(credentials, bearer_);
    return false;
  }

  std::string basic_;  // base64 of "user:password"
  std::string bearer_;
  std::string challenge_;
  bool required_ = false;
  bool guard_health_ = false;
};

}  // namespace anklet::metrics::http
