// anklet::metrics aggregator over HTTP: the fleet routes as a router over the server of
// "anklet/metrics/http/server.hpp", a peer of the exporter's metrics routes (docs/metrics.md:
// /metrics/v1 and /metrics/v2 in json and prometheus, /healthcheck, /metrics 501).
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
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "anklet/metrics/core/log.hpp"
#include "anklet/metrics/detail/compiled.hpp"
#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/fleet/aggregator.hpp"
#include "anklet/metrics/http/encoding.hpp"
#include "anklet/metrics/http/options.hpp"
#include "anklet/metrics/http/response.hpp"
#include "anklet/metrics/http/router.hpp"
#include "anklet/metrics/http/server.hpp"

namespace anklet::metrics {

/// The aggregator's routes: every request, once authorized (/healthcheck as
/// server_options say), is answered by aggregator::answer(), which shares the cached
/// body instead of copying it, in the format and coding the request accepts. `agg` must
/// outlive it.
class fleet_router {
 public:
  explicit fleet_router(aggregator& agg, http::accept_encoding_limits limits = {}) noexcept
      : agg_(&agg), limits_(limits) {}

  void route(const http::routed_request& req, http::response& out) {
    if (!req.authorized()) return req.auth.deny(out);
    const auto coding = agg_->options().gzip ? http::read_accept_encoding(req.raw, limits_).choose(true)
                                             : http::content_coding::identity;
    // Several Accept fields are one list.
    accept_.clear();
    for (const auto& h : req.raw.headers) {
      if (!metrics::detail::iequals(h.name, "accept")) continue;
      if (!accept_.empty()) accept_ += ',';
      accept_ += h.value;
    }
    try {
      agg_->answer(req.method == "HEAD" ? std::string_view("GET") : req.method, req.path, req.query, accept_, coding,
                   out);
    } catch (const std::exception& e) {
      req.report(log_level::error, std::string("request handler failed: ") + e.what());
      out.reset();
      out.text(500, "request handler failed\n");
    }
  }

  void add_stats(http::server_stats& s) const noexcept { s.compressions = agg_->compressions(); }

 private:
  aggregator* agg_;
  http::accept_encoding_limits limits_;
  std::string accept_;  // the request's Accept fields, kept for its storage
};

static_assert(http::router<fleet_router>);

/// A server_options::handler that answers every request from `agg`, which must outlive it
/// (for a server that has routes of its own; aggregator_server needs none).
[[nodiscard]] inline http::request_handler aggregator_routes(aggregator& agg) {
  return [&agg](std::string_view method, std::string_view path,
                std::string_view query) -> std::optional<http::handler_response> {
    return agg.respond(method, path, query);
  };
}

/// The HTTP side of an aggregator. Not copyable; the aggregator must outlive it.
class aggregator_server {
 public:
  /// `options.handler` and `options.gzip` are not used: the aggregator answers every route,
  /// compressing with aggregator_options::gzip; the rest (address, port, limits, auth, log,
  /// how much of Accept-Encoding is read) applies as for the exporter's server.
  aggregator_server(aggregator& agg, http::server_options options)
      : server_(options, agg, options.accept_encoding) {}

  /// Binds and starts serving; throws http::server_error (see http/options.hpp).
  void start() { server_.start(); }
  /// Stops serving; idempotent.
  void stop() { server_.stop(); }
  /// The bound port.
  [[nodiscard]] std::uint16_t port() const { return server_.port(); }
  /// The bound address as text, e.g. "127.0.0.1" or "::".
  [[nodiscard]] const std::string& bound_address() const { return server_.bound_address(); }
  /// Connection and request counters.
  [[nodiscard]] http::server_stats stats() const { return server_.stats(); }

 private:
  http::router_server<fleet_router> server_;
};

// Compiled mode (docs/compiled-mode.md): compiled in the implementation file only.
#if defined(ANKLET_METRICS_STANDARD_INSTANCE)
ANKLET_METRICS_STANDARD_INSTANCE class http::router_server<fleet_router>;
#endif

}  // namespace anklet::metrics
