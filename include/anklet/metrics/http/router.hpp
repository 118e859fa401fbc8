// anklet::metrics::http routers: what a server hands a parsed request to, and what a router
// that delegates to a handler function needs. The exporter's metrics routes and the fleet
// aggregator's routes are routers over the same server ("anklet/metrics/http/server.hpp").
#pragma once

#include <chrono>
#include <concepts>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include "anklet/metrics/core/log.hpp"
#include "anklet/metrics/http/auth.hpp"
#include "anklet/metrics/http/options.hpp"
#include "anklet/metrics/http/request_parser.hpp"
#include "anklet/metrics/http/response.hpp"

namespace anklet::metrics::http {

/// One request as a router sees it. Every view stays valid during route() only.
struct routed_request {
  std::string_view method;
  std::string_view path;   ///< percent-decoded
  std::string_view query;  ///< raw, without '?'
  const request& raw;      ///< the headers
  std::chrono::steady_clock::time_point now;
  const authenticator& auth;
  const log_sink& log;

  /// Whether the request may pass (credentials, or an open /healthcheck); ask once.
  [[nodiscard]] bool authorized() const noexcept { return auth.allows(raw, path); }
  /// Logs a line through server_options::log.
  void report(log_level level, std::string_view line) const noexcept { metrics::detail::emit(log, level, line); }
};

/// Answers requests: route(req, out) fills `out`, which starts as an empty 200. A router may
/// also add its counters to stats() with `add_stats(server_stats&) const`.
template <class R>
concept router = requires(R& r, const routed_request& req, response& out) { r.route(req, out); };

/// Answers `req` with `f(method, path, query)` (an optional<response>, or a response) for a
/// router that hands requests to a handler: HEAD is asked as GET (the server drops the body),
/// and an exception becomes a logged 500. False when `f` declined (nullopt).
template <class F>
bool answer_with(const routed_request& req, response& out, F&& f) {
  try {
    auto answer = f(req.method == "HEAD" ? std::string_view("GET") : req.method, req.path, req.query);
    if constexpr (std::same_as<decltype(answer), response>) {
      out = std::move(answer);
    } else {
      if (!answer) return false;
      out = std::move(*answer);
    }
  } catch (const std::exception& e) {
    req.report(log_level::error, std::string("request handler failed: ") + e.what());
    out.text(500, "request handler failed\n");
  }
  return true;
}

}  // namespace anklet::metrics::http
