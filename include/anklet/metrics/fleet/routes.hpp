// anklet::metrics aggregator over HTTP: the responder of "anklet/metrics/http/metrics_routes.hpp" with
// every route answered by an aggregator (docs/metrics.md: /metrics/v1 and /metrics/v2 in json and
// prometheus, /healthcheck, /metrics 501).
//
// Example:
//   namespace am = anklet::metrics;
//   am::aggregator_options options;
//   options.client.target = am::redis::parse_url("redis://127.0.0.1:6379").value();
//   am::aggregator agg(options);
//   agg.start();   // read Redis in the background
//   am::http::server_options listen;
//   listen.address = "127.0.0.1";
//   listen.port = 8081;
//   am::aggregator_server srv(agg, listen);
//   srv.start();   // until srv.stop()
//
// Requests are answered on the server's one thread. Call agg.start() so that the fleet is
// read in the background and every request is answered at once from the last complete read
// (with an Age header); without it, a request may wait for a Redis read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "anklet/metrics/fleet/aggregator.hpp"
#include "anklet/metrics/http/metrics_routes.hpp"

namespace anklet::metrics {

/// A server_options::handler that answers every request from `agg`, which must outlive it.
[[nodiscard]] inline http::request_handler aggregator_routes(aggregator& agg) {
  return [&agg](std::string_view method, std::string_view path,
                std::string_view query) -> std::optional<http::handler_response> {
    auto r = agg.respond(method, path, query);
    std::string headers = r.age_seconds ? "Age: " + std::to_string(*r.age_seconds) + "\r\n" : std::string();
    return http::handler_response{r.status, std::move(r.content_type), std::move(r.body), std::move(r.allow),
                                  std::move(headers)};
  };
}

/// The HTTP side of an aggregator. Not copyable; the aggregator must outlive it.
class aggregator_server {
 public:
  /// `options.handler` is replaced by the aggregator's routes; the rest (address, port,
  /// limits, auth) applies as for the exporter's server.
  aggregator_server(aggregator& agg, http::server_options options) : server_(unused_, with_routes(agg, std::move(options))) {}

  /// Binds and starts serving; throws http::server_error (see server.hpp).
  void start() { server_.start(); }
  /// Stops serving; idempotent.
  void stop() { server_.stop(); }
  /// The bound port.
  [[nodiscard]] std::uint16_t port() const { return server_.port(); }
  /// The bound address as text, e.g. "127.0.0.1" or "::".
  [[nodiscard]] const std::string& bound_address() const { return server_.bound_address(); }

 private:
  static http::server_options with_routes(aggregator& agg, http::server_options o) {
    o.handler = aggregator_routes(agg);
    o.cache_bodies = false;
    return o;
  }

  // The responder needs a snapshot source; the aggregator answers every route, so this
  // one is never read.
  http::published_snapshot unused_;
  http::server<http::published_snapshot> server_;
};

}  // namespace anklet::metrics
