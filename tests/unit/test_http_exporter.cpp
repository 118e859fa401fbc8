// The responder wired to the library's renderers and a host source (http/metrics_routes.hpp).
#include "anklet/metrics/http/metrics_routes.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <string_view>

#include "anklet/metrics/store.hpp"
#include "anklet/metrics/testing.hpp"
#include "http_test_client.hpp"

using namespace anklet::metrics;
using namespace anklet::metrics::http;
namespace amt = anklet::metrics::testing;

namespace {

server_options local_options() {
  server_options o;
  o.port = 0;
  return o;
}

constexpr std::string_view prometheus_accept =
    "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n";

// The scrape-count family the routes add after the snapshot's families.
std::string after_snapshot(const std::string& body, const std::string& snapshot_text) {
  REQUIRE(body.size() >= snapshot_text.size());
  CHECK(body.substr(0, snapshot_text.size()) == snapshot_text);
  return body.substr(snapshot_text.size());
}

// A tool's own families: a counter, a gauge with a help text to escape, a histogram.
struct tool_metrics {
  std::atomic<std::uint64_t> jobs{0};
  std::atomic<std::uint64_t> changes{0};
  std::uint64_t generation() const { return changes.load(); }
  void collect(family_writer& w) const {
    w.family("tool_jobs_total", catalogue::family_type::counter, "Jobs \"queued\" by the tool.\nSecond line \\.");
    w.sample({{"queue", "main"}}, jobs.load());
    w.family("tool_temperature_celsius", catalogue::family_type::gauge, "Temperature.", "celsius");
    w.sample({}, 21.5);
    w.family("tool_wait_seconds", catalogue::family_type::histogram, "Wait.", "seconds");
    histogram_counts h;
    h.reset(2);
    const double bounds[] = {1, 10};
    h.observe(bounds, 3);
    w.histogram({{"queue", "main"}}, bounds, h);
  }
  void bump() {
    ++jobs;
    ++changes;
  }
};

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
  CHECK(r->header("vary") == "Accept");
  // The snapshot's families, then the server's own scrape counts.
  const std::string tail = after_snapshot(r->body, to_prometheus(s.snapshot()));
  CHECK(tail.rfind("# HELP anklet_metrics_scrapes_total ", 0) == 0);
  CHECK(r->body.find("plugin_status{name=\"RUNNER1\",plugin=\"github\",owner=\"MyOrg\",repo=\"repo\",status=\"in_progress\"} 1") !=
        std::string::npos);

  r = test_http::get(srv.port(), "/metrics/v1?format=openmetrics");
  REQUIRE(r);
  CHECK(r->header("content-type") == "application/openmetrics-text; version=1.0.0; charset=utf-8");
  CHECK(r->header("vary").empty());  // asked for by name: the answer does not depend on Accept
  std::string om;
  write_through(std::back_inserter(om), [&](auto& sink) { write_openmetrics_families(sink, s.snapshot()); });
  CHECK(after_snapshot(r->body, om).rfind("# HELP anklet_metrics_scrapes ", 0) == 0);
  CHECK(r->body.substr(r->body.size() - 6) == "# EOF\n");
  CHECK(amt::parse_openmetrics(r->body).family("plugin_status") != nullptr);

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

TEST_CASE("format=prometheus negotiates OpenMetrics with the scraper's Accept header") {
  store s;
  auto h = s.add_handler({"RUNNER1", "github", "MyOrg", ""});
  h.set_status(plugin_status::in_progress);
  h.finish_run(run_outcome::successful, "https://example.org/run/7");
  server<store> srv(s, local_options());
  srv.start();
  const auto port = srv.port();

  // Prometheus's default header: OpenMetrics, with the run's exemplar and a histogram.
  auto r = test_http::get(port, "/metrics/v1?format=prometheus", prometheus_accept);
  REQUIRE(r);
  CHECK(r->header("content-type") == openmetrics_content_type);
  CHECK(r->header("vary") == "Accept");
  const auto e = amt::parse_openmetrics(r->body);
  const auto* runs = amt::find_sample(e, "plugin_total_successful_runs_since_start_total", {{"name", "RUNNER1"}});
  REQUIRE(runs != nullptr);
  REQUIRE(runs->exemplar);
  CHECK(*runs->exemplar->label_value("job_url") == "https://example.org/run/7");
  CHECK(amt::find(e, "plugin_job_duration_seconds_count", {{"name", "RUNNER1"}, {"outcome", "successful"}}) == 1);

  // HEAD gets the same headers; curl's */*, no Accept and a text/plain preference get 0.0.4.
  r = test_http::get(port, "/metrics/v1?format=prometheus", prometheus_accept, "HEAD");
  REQUIRE(r);
  CHECK(r->header("content-type") == openmetrics_content_type);
  for (const std::string_view accept : {std::string_view("Accept: */*\r\n"), std::string_view(),
                                        std::string_view("Accept: text/plain, application/openmetrics-text;q=0.5\r\n")}) {
    r = test_http::get(port, "/metrics/v1?format=prometheus", accept);
    REQUIRE(r);
    CHECK(r->header("content-type") == prometheus_content_type);
    CHECK(amt::parse_exposition(r->body).family("host_cpu_count") != nullptr);
  }
  // Two Accept fields are one list.
  r = test_http::get(port, "/metrics/v1?format=prometheus",
                     "Accept: text/plain;q=0.2\r\nAccept: application/openmetrics-text;q=0.9\r\n");
  REQUIRE(r);
  CHECK(r->header("content-type") == openmetrics_content_type);
  // Other formats do not vary.
  r = test_http::get(port, "/metrics/v1?format=json", prometheus_accept);
  REQUIRE(r);
  CHECK(r->header("vary").empty());
  CHECK(r->header("content-type") == "application/json");
}

TEST_CASE("negotiation can be turned off") {
  store s;
  auto o = local_options();
  o.negotiate_openmetrics = false;
  server<store> srv(s, o);
  srv.start();
  auto r = test_http::get(srv.port(), "/metrics/v1?format=prometheus", prometheus_accept);
  REQUIRE(r);
  CHECK(r->header("content-type") == prometheus_content_type);
  CHECK(r->header("vary").empty());
  r = test_http::get(srv.port(), "/metrics/v1?format=openmetrics");
  REQUIRE(r);
  CHECK(r->header("content-type") == openmetrics_content_type);
}

TEST_CASE("collectors: the tool's families in both formats, re-rendered when their generation moves") {
  store s;
  s.add_handler({"h", "github", "o", ""});
  auto tool = std::make_shared<tool_metrics>();
  auto o = local_options();
  o.collectors.emplace_back(tool);
  o.scrapes = nullptr;  // no scrape counts: the tool's families are the last ones
  server<store> srv(s, o);
  srv.start();

  auto r = test_http::get(srv.port(), "/metrics/v1?format=prometheus");
  REQUIRE(r);
  auto e = amt::parse_exposition(r->body);
  CHECK(amt::find(e, "tool_jobs_total", {{"queue", "main"}}) == 0);
  CHECK(e.family("tool_jobs_total")->help == "Jobs \"queued\" by the tool.\nSecond line \\.");
  CHECK(amt::find(e, "tool_temperature_celsius") == 21.5);
  CHECK(amt::find(e, "tool_wait_seconds_bucket", {{"le", "10.0"}}) == 1);
  CHECK(e.family("anklet_metrics_scrapes_total") == nullptr);

  tool->bump();
  r = test_http::get(srv.port(), "/metrics/v1?format=prometheus", prometheus_accept);
  REQUIRE(r);
  e = amt::parse_openmetrics(r->body);
  CHECK(e.family("tool_jobs")->type == amt::metric_type::counter);
  CHECK(amt::find(e, "tool_jobs_total", {{"queue", "main"}}) == 1);
  CHECK(e.family("tool_temperature_celsius")->unit == "celsius");
  CHECK(e.family("tool_jobs")->help == "Jobs \"queued\" by the tool.\nSecond line \\.");
  const auto renders = srv.stats().renders;
  REQUIRE(test_http::get(srv.port(), "/metrics/v1?format=prometheus", prometheus_accept));
  CHECK(srv.stats().renders == renders);  // nothing moved: the cached body
  tool->bump();
  r = test_http::get(srv.port(), "/metrics/v1?format=prometheus", prometheus_accept);
  REQUIRE(r);
  CHECK(srv.stats().renders == renders + 1);
  CHECK(amt::find(amt::parse_openmetrics(r->body), "tool_jobs_total", {{"queue", "main"}}) == 2);
  // JSON and the Anklet text are the snapshot's alone.
  r = test_http::get(srv.port(), "/metrics/v1?format=anklet");
  REQUIRE(r);
  CHECK(r->body.find("tool_") == std::string::npos);
}

TEST_CASE("a collector that throws makes a 500, and the next scrape renders again") {
  struct broken {
    std::uint64_t generation() const { return 1; }
    void collect(family_writer& w) const { w.sample({}, 1.0); }  // no family opened
  };
  store s;
  broken b;
  auto o = local_options();
  std::string logged;
  o.log = [&logged](log_level, std::string_view line) { logged = std::string(line); };
  o.collectors.emplace_back(b);
  server<store> srv(s, o);
  srv.start();
  auto r = test_http::get(srv.port(), "/metrics/v1?format=prometheus");
  REQUIRE(r);
  CHECK(r->status == 500);
  CHECK(r->header("vary").empty());
  r = test_http::get(srv.port(), "/metrics/v1?format=json");
  REQUIRE(r);
  CHECK(r->status == 200);
  srv.stop();
  CHECK(logged.find("sample() needs an open gauge or counter family") != std::string::npos);
}

TEST_CASE("scrape counts: by format and code, shared by the servers of one options object") {
  store s;
  auto o = local_options();
  auto counts = std::make_shared<scrape_counts>(std::chrono::milliseconds(0));  // every scrape shows the ones before
  o.scrapes = counts;
  server<store> srv(s, o);
  srv.start();
  const auto port = srv.port();
  REQUIRE(test_http::get(port, "/metrics/v1?format=json"));
  REQUIRE(test_http::get(port, "/metrics/v1?format=bogus"));
  REQUIRE(test_http::get(port, "/metrics/v1?format=prometheus", prometheus_accept));
  REQUIRE(test_http::get(port, "/metrics/v1?format=json", {}, "POST"));
  REQUIRE(test_http::get(port, "/healthcheck"));  // not a scrape
  auto r = test_http::get(port, "/metrics/v1?format=prometheus");
  REQUIRE(r);
  const auto e = amt::parse_exposition(r->body);
  const auto count = [&](std::string_view format, std::string_view code) {
    return amt::find(e, "anklet_metrics_scrapes_total", {{"format", format}, {"code", code}});
  };
  CHECK(count("json", "200") == 1);
  CHECK(count("openmetrics", "200") == 1);
  CHECK(count("prometheus", "200") == 0);  // this one is counted once it is sent
  CHECK(count("anklet", "200") == 0);
  CHECK(count("none", "400") == 1);
  CHECK(count("none", "405") == 1);
  CHECK_FALSE(count("json", "500"));  // no such answer: no series
  CHECK(counts->count_of(metrics_format::prometheus, 200) == 1);
}

TEST_CASE("scrape counts move their generation at most once per interval") {
  scrape_counts counts(std::chrono::seconds(1));
  const auto t = std::chrono::steady_clock::time_point(std::chrono::hours(1));
  const auto g0 = counts.generation();
  counts.count(metrics_format::json, 200, t);
  CHECK(counts.generation() == g0 + 1);
  counts.count(metrics_format::json, 200, t + std::chrono::milliseconds(500));
  CHECK(counts.generation() == g0 + 1);
  counts.count(std::nullopt, 404, t + std::chrono::milliseconds(1500));  // not a code /metrics/v1 answers
  CHECK(counts.generation() == g0 + 1);
  counts.count(metrics_format::json, 200, t + std::chrono::milliseconds(1500));
  CHECK(counts.generation() == g0 + 2);
  CHECK(counts.count_of(metrics_format::json, 200) == 3);
}

TEST_CASE("/healthcheck reports unhealthy when the health option says so") {
  store s;
  std::atomic<bool> failing{false};
  auto o = local_options();
  o.health = [&failing]() -> std::string { return failing ? "Redis writes failed 3 times in a row" : ""; };
  server<store> srv(s, o);
  srv.start();
  auto r = test_http::get(srv.port(), "/healthcheck");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "ok");
  failing = true;
  r = test_http::get(srv.port(), "/healthcheck");
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->body == "unhealthy: Redis writes failed 3 times in a row\n");
  // The metrics are still served.
  r = test_http::get(srv.port(), "/metrics/v1?format=json");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("a re-rendered body is written into one no connection holds any more, capacity kept") {
  reusable_body slot;
  const std::string large(200'000, 'x');
  slot.renew().append(large);
  const auto* first = slot.current.get();
  auto sending_first = slot.current;  // a slow reader still sends it

  auto& second = slot.renew();
  CHECK(slot.current.get() != first);
  CHECK(second.size() == 0);
  CHECK(second.capacity() >= large.size());  // sized like the body it replaces, not grown
  CHECK(sending_first->bytes.size() == large.size());  // the reader's body is untouched
  second.append(large);
  auto sending_second = slot.current;

  sending_first.reset();  // that reader is done
  auto& third = slot.renew();
  CHECK(slot.current.get() == first);  // its body is written again
  CHECK(third.size() == 0);
  CHECK(sending_second->bytes.size() == large.size());

  sending_second.reset();
  const auto* now_current = slot.current.get();
  slot.renew();
  CHECK(slot.current.get() == now_current);  // nobody holds it: rendered in place
}
