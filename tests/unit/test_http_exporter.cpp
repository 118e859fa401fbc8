// The responder wired to the library's renderers and a host source (http/metrics_routes.hpp).
#include "anklet/metrics/http/metrics_routes.hpp"

#include <doctest/doctest.h>

#include "anklet/metrics/store.hpp"
#include "http_test_client.hpp"

using namespace anklet::metrics;
using namespace anklet::metrics::http;

namespace {

server_options local_options() {
  server_options o;
  o.port = 0;
  return o;
}

}  // namespace

TEST_CASE("each format is the renderer's output with its content type") {
  // A clock that stands still: the served body and the one rendered here share last_update.
  using still_store = basic_store<shared_mutex_lock, manual_clock>;
  still_store s{manual_clock{time_point::from_unix(1736328615, 0)}};
  auto h = s.add_handler({"RUNNER1", "github", "MyOrg", "repo"});
  s.add_receiver({"RECV", "github_receiver", "MyOrg", ""});
  h.set_status(plugin_status::in_progress);
  h.finish_run(run_outcome::failed, "https://example.org/run/1");
  basic_server<still_store, standard_renderer> srv(s, local_options(), standard_renderer{time_zone::utc});
  srv.start();

  auto r = test_http::get(srv.port(), "/metrics/v1?format=prometheus");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r->body == to_prometheus(s.snapshot()));
  CHECK(r->body.find("plugin_status{name=\"RUNNER1\",plugin=\"github\",owner=\"MyOrg\",repo=\"repo\",status=\"in_progress\"} 1") !=
        std::string::npos);

  r = test_http::get(srv.port(), "/metrics/v1?format=anklet");
  REQUIRE(r);
  CHECK(r->header("content-type") == anklet_text_content_type);
  CHECK(r->body == to_anklet_text(s.snapshot(), {time_zone::utc}));

  r = test_http::get(srv.port(), "/metrics/v1?format=json");
  REQUIRE(r);
  CHECK(r->header("content-type") == "application/json");
  CHECK(r->body == to_json(s.snapshot(), {time_zone::utc}));
  CHECK(r->body.find("\"LastFailedRunJobUrl\":\"https://example.org/run/1\"") != std::string::npos);
}

TEST_CASE("host figures are refreshed from the source on scrapes") {
  store s;
  s.add_handler({"h", "github", "o", ""});
  host_metrics values;
  values.cpu_count = 12;
  values.memory_total_bytes = 1024;
  fixed_host_source source(values);
  int samples = 0;
  host_refresher<store, fixed_host_source> refresh(s, source, [&](const host_sample& sample) {
    ++samples;
    CHECK(sample.ok());
  });
  auto o = local_options();
  o.host_refresh_interval = std::chrono::milliseconds(0);
  server_with_host<store, fixed_host_source> srv(s, o, {}, refresh);
  srv.start();
  auto r = test_http::get(srv.port(), "/metrics/v1?format=prometheus");
  REQUIRE(r);
  CHECK(r->body.find("\nhost_cpu_count 12\n") != std::string::npos);
  CHECK(r->body.find("\nhost_memory_total_bytes 1024\n") != std::string::npos);
  // A changed figure shows on the next scrape: the cached body is not reused.
  values.cpu_count = 16;
  source.set(values);
  r = test_http::get(srv.port(), "/metrics/v1?format=prometheus");
  REQUIRE(r);
  CHECK(r->body.find("\nhost_cpu_count 16\n") != std::string::npos);
  srv.stop();
  CHECK(samples == 2);
}

TEST_CASE("the server is a transport") {
  static_assert(transport<server<store>>);
  static_assert(transport<server<published_snapshot>>);
  published_snapshot slot;
  server<published_snapshot> srv(slot, local_options());
  memory_transport memory;
  store s;
  s.add_handler({"pushed", "github", "o", ""});
  no_host_source none;
  exporter ex{s, none, srv, memory};
  srv.start();
  const auto result = ex.publish();
  CHECK(result.ok());
  const auto r = test_http::get(srv.port(), "/metrics/v1?format=prometheus");
  REQUIRE(r);
  CHECK(r->body.find("name=\"pushed\"") != std::string::npos);
}

TEST_CASE("copies of a host refresher share one rate limit") {
  store s;
  fixed_host_source source;
  int samples = 0;
  host_refresher<store, fixed_host_source> first(s, source, [&](const host_sample&) { ++samples; },
                                                 std::chrono::hours(1));
  auto second = first;
  CHECK(first());
  CHECK_FALSE(second());
  CHECK_FALSE(first());
  CHECK(samples == 1);
  host_refresher<store, fixed_host_source> unlimited(s, source, [&](const host_sample&) { ++samples; });
  CHECK(unlimited());
  CHECK(unlimited());
  CHECK(samples == 3);
}
