// Compiled mode (docs/compiled-mode.md): this file is built with ANKLET_METRICS_COMPILED and
// links the library's implementation file. It runs each standard instance the
// implementation holds, and a server over a router of its own, which is instantiated here
// on the compiled event loop: a body missing from the implementation fails the link, a
// wrong one these checks. With TLS, the TLS layer comes from there too, and this file must
// not have parsed OpenSSL's headers.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "anklet/metrics.hpp"
#if ANKLET_METRICS_TLS
#include "anklet/metrics/redis/tls.hpp"
#if defined(OPENSSL_SSL_H) || defined(HEADER_SSL_H)
#error "in compiled mode, redis/tls.hpp leaves OpenSSL's headers to the implementation file"
#endif
#endif
#include "eventually.hpp"
#include "http_test_client.hpp"
#include "redis_test_server.hpp"

#ifndef ANKLET_METRICS_COMPILED
#error "this test checks compiled mode: build it with the anklet-metrics-compiled dependency"
#endif

namespace am = anklet::metrics;
using namespace std::chrono_literals;

namespace {

am::http::server_options loopback() {
  am::http::server_options o;
  o.address = "127.0.0.1";
  o.port = 0;
  return o;
}

// A collector of the program's own, written through the compiled family writer.
struct queue_metrics {
  std::uint64_t generation() const { return 1; }
  void collect(am::family_writer& w) const {
    w.family("tool_queue_depth", am::catalogue::family_type::gauge, "Jobs\nwaiting.");
    w.sample({{"queue", "a\"b"}}, 2.5);
    w.sample({{"queue", "plain"}}, std::uint64_t{7});
  }
};

struct echo_router {
  void route(const am::http::routed_request& req, am::http::response& out) { out.text(200, "echo " + std::string(req.path)); }
};

}  // namespace

TEST_CASE("compiled mode: the exporter's server with host figures answers from the compiled event loop") {
  am::store metrics;
  metrics.add_handler({.name = "RUNNER1", .plugin_name = "github", .owner_name = "veertuinc", .repo_name = ""});
  am::platform_host_source host;
  am::http::host_refresher<am::store, am::platform_host_source> refresh{metrics, host};
  am::http::server_with_host<am::store, am::platform_host_source> server{metrics, loopback(), {}, refresh};
  server.start();
  const auto answer = test_http::get(server.port(), "/metrics/v1?format=prometheus");
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK(answer->body.find("plugin_status{name=\"RUNNER1\",plugin=\"github\",owner=\"veertuinc\"") != std::string::npos);
  CHECK(answer->body.find("host_cpu_count ") != std::string::npos);
  const auto stats = server.stats();
  CHECK(stats.requests == 1);
  CHECK(stats.renders == 1);  // the router's counters, through the compiled core
  CHECK(stats.host_refreshes == 1);
  server.stop();
  CHECK_FALSE(server.running());
}

TEST_CASE("compiled mode: the plain server and a server over a router of the program's own") {
  am::store metrics;
  am::http::server<am::store> plain{metrics, loopback()};
  plain.start();
  am::http::router_server<echo_router> echo{loopback()};
  echo.start();
  const auto healthy = test_http::get(plain.port(), "/healthcheck");
  REQUIRE(healthy);
  CHECK(healthy->status == 200);
  const auto echoed = test_http::get(echo.port(), "/anything");
  REQUIRE(echoed);
  CHECK(echoed->status == 200);
  CHECK(echoed->body == "echo /anything");
  CHECK(echo.stats().requests == 1);
}

TEST_CASE("compiled mode: the writer of the standard store exports to a real Redis and cleans up") {
  anklet_test::redis_server redis;
  am::store metrics;
  metrics.add_handler({.name = "RUNNER1", .plugin_name = "github", .owner_name = "veertuinc", .repo_name = ""});
  am::platform_host_source host;
  am::redis::writer_options o;
  o.client.target = am::redis::parse_url(redis.url()).value();
  o.key = am::redis::metrics_key("veertuinc", "RUNNER1");
  o.interval = 100ms;
  am::redis::writer writer(o);
  writer.start(metrics, host);
  CHECK(anklet_test::eventually([&] { return writer.health().writes_ok >= 1; }));
  writer.stop();
  auto reader = am::redis::client::from_url(redis.url()).value();
  const auto payload = reader.get(o.key);
  REQUIRE(payload);
  REQUIRE(payload->has_value());
  CHECK(payload->value().find("\"RUNNER1\"") != std::string::npos);
  const auto cleaned = writer.cleanup();
  REQUIRE(cleaned);
  CHECK(*cleaned);
}

TEST_CASE("compiled mode: the fleet aggregator's server") {
  anklet_test::redis_server redis;
  am::aggregator_options ao;
  ao.client.target = am::redis::parse_url(redis.url()).value();
  am::aggregator agg(ao);
  am::aggregator_server server(agg, loopback());
  server.start();
  const auto answer = test_http::get(server.port(), "/metrics/v1?format=json");
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK(server.stats().requests == 1);
}

TEST_CASE("compiled mode: a collector of the program's own, through the compiled family writer") {
  am::store metrics;
  auto options = loopback();
  options.collectors.emplace_back(std::make_shared<queue_metrics>());
  am::http::server<am::store> server{metrics, options};
  server.start();
  const auto answer = test_http::get(server.port(), "/metrics/v1?format=prometheus");
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK(answer->body.find("# HELP tool_queue_depth Jobs\\nwaiting.\n# TYPE tool_queue_depth gauge\n"
                          "tool_queue_depth{queue=\"a\\\"b\"} 2.5\ntool_queue_depth{queue=\"plain\"} 7\n") !=
        std::string::npos);
}

TEST_CASE("compiled mode: the URL parser, the health check and the TLS layer") {
  const auto t = am::redis::parse_url("redis://user:p%40ss@cache.example:6380/2");
  REQUIRE(t);
  CHECK(t->host == "cache.example");
  CHECK(t->port == 6380);
  CHECK(t->user == "user");
  CHECK(t->password == "p@ss");
  CHECK(t->db == 2);
  const auto bad = am::redis::parse_url("http://cache.example");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("unknown scheme") != std::string::npos);

  am::redis::writer_options o;
  o.key = am::redis::metrics_key("veertuinc", "RUNNER1");
  am::redis::writer writer(o);
  CHECK(am::redis::unhealthy_after(writer, 1)().empty());  // no write has failed yet

#if ANKLET_METRICS_TLS
  am::redis::tls_settings missing;
  missing.ca_file = "/nonexistent/ca.pem";
  const auto refused = am::redis::tls_layer(missing);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("cannot load the CA /nonexistent/ca.pem") != std::string::npos);
  am::redis::tls_settings insecure;
  insecure.insecure = true;
  const auto layer = am::redis::tls_layer(insecure);
  REQUIRE(layer);
  CHECK(layer.value() != nullptr);
#endif
}
