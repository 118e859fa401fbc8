// The fleet aggregator (SPEC 8) over hand-made Go-style payloads and ours, in a real
// redis-server: golden v1/v2 JSON, valid Prometheus text (promtool), skipped keys, routes.
#include <doctest/doctest.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <mutex>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include "anklet/metrics/fleet/aggregator.hpp"
#include "anklet/metrics/fleet/routes.hpp"
// Before store.hpp: refresh_host_metrics(Store& store, ...) shadows the alias under -Wshadow.
#include "anklet/metrics/host/source.hpp"
#include "anklet/metrics/render/json.hpp"
#include "anklet/metrics/store.hpp"
#include "anklet/metrics/testing.hpp"
#include "eventually.hpp"
#include "host_fixture.hpp"
#include "http_test_client.hpp"
#include "redis_fault_tools.hpp"
#include "strict_json.hpp"
#include "redis_test_server.hpp"
#include "sanitizers.hpp"

using namespace anklet::metrics;
using namespace std::chrono_literals;
using anklet_test::redis_server;

namespace {

// As Go Anklet writes it: keys sorted (it re-marshals through a map), fractional seconds
// and a -06:00 offset, `\u0026` and `\"` escapes, a receiver with only the six base
// fields and a status this library does not know.
constexpr std::string_view go_host = R"({"host_cpu_count":12,"host_cpu_usage_percentage":27.4378179763971,"host_cpu_used_count":3,"host_disk_available_bytes":370914979840,"host_disk_total_bytes":994662584320,"host_disk_usage_percentage":62.7094669401307,"host_disk_used_bytes":623747604480,"host_memory_available_bytes":9426272256,"host_memory_total_bytes":38654705664,"host_memory_usage_percentage":75.6141662597656,"host_memory_used_bytes":29228433408,"last_update":"2025-01-07T18:17:03.999999999-06:00","plugins":[{"LastCanceledRun":"0001-01-01T00:00:00Z","LastCanceledRunJobUrl":"","LastFailedRun":"2025-01-07T17:00:00.5-06:00","LastFailedRunJobUrl":"https://github.com/veertuinc/anklet/actions/runs/2?a=1\u0026b=\"2\"","LastSuccessfulRun":"2025-01-07T16:00:00-06:00","LastSuccessfulRunJobUrl":"https://github.com/veertuinc/anklet/actions/runs/1","Name":"RUNNER1","OwnerName":"veertuinc","PluginName":"github","RepoName":"anklet","Status":"in_progress","StatusSince":"2025-01-07T18:07:36.123-06:00","TotalCanceledRunsSinceStart":0,"TotalFailedRunsSinceStart":1,"TotalRanVMs":3,"TotalSuccessfulRunsSinceStart":2},{"Name":"RECEIVER1","OwnerName":"veertuinc","PluginName":"github_receiver","RepoName":"","Status":"hibernating","StatusSince":"2025-01-07T23:00:00.75Z"}],"total_canceled_runs_since_start":0,"total_failed_runs_since_start":1,"total_running_vms":1,"total_successful_runs_since_start":2})";

const std::string runner2 =
    R"({"repo_name":"","plugin_name":"github","custom_name":"RUNNER2","owner_name":"","last_update":"2025-01-08T09:30:15Z","plugin_status":"idle","plugin_last_successful_run":"2025-01-08T09:30:15Z","plugin_last_failed_run":"0001-01-01T00:00:00Z","plugin_last_canceled_run":"0001-01-01T00:00:00Z","plugin_status_since":"2025-01-08T09:30:15Z","plugin_total_ran_vms":0,"plugin_total_successful_runs_since_start":1,"plugin_total_failed_runs_since_start":0,"plugin_total_canceled_runs_since_start":0,"plugin_last_successful_run_job_url":"https://ci/x?y=1\u0026z=\u003c2\u003e","plugin_last_failed_run_job_url":"","plugin_last_canceled_run_job_url":"","host_cpu_count":8,"host_cpu_used_count":2,"host_cpu_usage_percentage":25.5,"host_memory_total_bytes":17179869184,"host_memory_used_bytes":8589934592,"host_memory_available_bytes":8589934592,"host_memory_usage_percentage":50,"host_disk_total_bytes":500000000000,"host_disk_used_bytes":250000000000,"host_disk_available_bytes":250000000000,"host_disk_usage_percentage":50})";
const std::string runner1 =
    R"({"repo_name":"anklet","plugin_name":"github","custom_name":"RUNNER1","owner_name":"veertuinc","last_update":"2025-01-07T18:17:03-06:00","plugin_status":"in_progress","plugin_last_successful_run":"2025-01-07T16:00:00-06:00","plugin_last_failed_run":"2025-01-07T17:00:00-06:00","plugin_last_canceled_run":"0001-01-01T00:00:00Z","plugin_status_since":"2025-01-07T18:07:36-06:00","plugin_total_ran_vms":3,"plugin_total_successful_runs_since_start":2,"plugin_total_failed_runs_since_start":1,"plugin_total_canceled_runs_since_start":0,"plugin_last_successful_run_job_url":"https://github.com/veertuinc/anklet/actions/runs/1","plugin_last_failed_run_job_url":"https://github.com/veertuinc/anklet/actions/runs/2?a=1\u0026b=\"2\"","plugin_last_canceled_run_job_url":"","host_cpu_count":12,"host_cpu_used_count":3,"host_cpu_usage_percentage":27.4378179763971,"host_memory_total_bytes":38654705664,"host_memory_used_bytes":29228433408,"host_memory_available_bytes":9426272256,"host_memory_usage_percentage":75.6141662597656,"host_disk_total_bytes":994662584320,"host_disk_used_bytes":623747604480,"host_disk_available_bytes":370914979840,"host_disk_usage_percentage":62.7094669401307})";
const std::string receiver1 =
    R"({"repo_name":"","plugin_name":"github_receiver","custom_name":"RECEIVER1","owner_name":"veertuinc","last_update":"2025-01-07T18:17:03-06:00","plugin_status":"hibernating","plugin_last_successful_run":"0001-01-01T00:00:00Z","plugin_last_failed_run":"0001-01-01T00:00:00Z","plugin_last_canceled_run":"0001-01-01T00:00:00Z","plugin_status_since":"2025-01-07T23:00:00Z","plugin_total_ran_vms":0,"plugin_total_successful_runs_since_start":0,"plugin_total_failed_runs_since_start":0,"plugin_total_canceled_runs_since_start":0,"plugin_last_successful_run_job_url":"","plugin_last_failed_run_job_url":"","plugin_last_canceled_run_job_url":"","host_cpu_count":12,"host_cpu_used_count":3,"host_cpu_usage_percentage":27.4378179763971,"host_memory_total_bytes":38654705664,"host_memory_used_bytes":29228433408,"host_memory_available_bytes":9426272256,"host_memory_usage_percentage":75.6141662597656,"host_disk_total_bytes":994662584320,"host_disk_used_bytes":623747604480,"host_disk_available_bytes":370914979840,"host_disk_usage_percentage":62.7094669401307})";

// Hosts sort by key: anklet/metrics/RUNNER2 < .../broken < .../list < .../veertuinc/RUNNER1.
const std::string golden_v2 = "[" + runner2 + "," + runner1 + "," + receiver1 + "]\n";
const std::string golden_v1 = R"({"RECEIVER1":)" + receiver1 + R"(,"RUNNER1":)" + runner1 + R"(,"RUNNER2":)" + runner2 + "}\n";

time_point utc(int y, unsigned m, unsigned d, int hh, int mm, int ss) {
  return time_point{std::chrono::sys_days{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}} +
                    std::chrono::hours{hh} + std::chrono::minutes{mm} + std::chrono::seconds{ss}};
}

// Ours: written by this library's JSON renderer, in UTC, owner empty, repo unset.
std::string our_host() {
  basic_store<null_lock, manual_clock> st(manual_clock(utc(2025, 1, 8, 9, 30, 15) + 250ms));
  auto h = st.add_handler({"RUNNER2", "github", "", ""});
  h.finish_run(run_outcome::successful, "https://ci/x?y=1&z=<2>");
  st.set_host_metrics(anklet_test::sample_host());
  return to_json(st.snapshot(), {.zone = time_zone::utc});
}

void load_fleet(redis::client& c) {
  REQUIRE(c.set("anklet/metrics/veertuinc/RUNNER1", go_host, 604800s));
  REQUIRE(c.set("anklet/metrics/RUNNER2", our_host(), 604800s));
  REQUIRE(c.set("anklet/metrics/broken", R"({"last_update":"yesterday","plugins":[]})"));
  REQUIRE(c.command("RPUSH", "anklet/metrics/list", "not a string value"));  // MGET gives nil
  REQUIRE(c.set("unrelated/key", "{}"));
}

struct promtool_result {
  int status = -1;
  std::string output;
};

promtool_result run_promtool(const std::string& text) {
  const char* env = std::getenv("ANKLET_PROMTOOL");
  const std::string promtool = env && *env ? env : "promtool";
  char tmpl[] = "/tmp/anklet-agg-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::filesystem::path dir = tmpl;
  {
    std::ofstream(dir / "metrics.prom", std::ios::binary) << text;
  }
  const std::string cmd = promtool + " check metrics < " + (dir / "metrics.prom").string() + " 2>&1";
  promtool_result r;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  std::filesystem::remove_all(dir);
  return r;
}

// SPEC 5: only the `_total` lint on counters and the `_count` lint on host_cpu_*count.
bool only_allowed_lints(const std::string& output) {
  std::size_t pos = 0;
  while (pos < output.size()) {
    auto nl = output.find('\n', pos);
    if (nl == std::string::npos) nl = output.size();
    const std::string line = output.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    const bool total_lint = (line.starts_with("plugin_total_") || line.starts_with("total_")) &&
                            line.ends_with(" counter metrics should have \"_total\" suffix");
    const bool count_lint = (line.starts_with("host_cpu_count ") || line.starts_with("host_cpu_used_count ")) &&
                            line.ends_with("non-histogram and non-summary metrics should not have \"_count\" suffix");
    if (!total_lint && !count_lint) {
      MESSAGE("unexpected promtool remark: " << line);
      return false;
    }
  }
  return true;
}

aggregator_options options_for(const redis_server& srv) {
  aggregator_options o;
  o.client.target = redis::parse_url(srv.url()).value();
  o.client.connect_timeout = 500ms;
  o.client.read_timeout = 500ms;
  o.client.backoff_initial = 1ms;
  o.client.backoff_max = 5ms;
  o.read.scan_count = 2;  // several SCAN pages even for this small fleet
  o.read.mget_batch = 2;  // several MGETs in the pipeline
  return o;
}

}  // namespace

TEST_CASE("read_fleet: Go's payloads and ours, malformed and missing values skipped and counted") {
  redis_server srv;
  auto c = redis::client::from_url(srv.url()).value();
  load_fleet(c);
  fleet f;
  fleet_read_options o;
  o.mget_batch = 3;
  REQUIRE(read_fleet(c, f, o));
  CHECK(f.keys_seen == 4);
  REQUIRE(f.hosts.size() == 2);
  CHECK(f.hosts[0].key == "anklet/metrics/RUNNER2");
  CHECK(f.hosts[1].key == "anklet/metrics/veertuinc/RUNNER1");
  CHECK(f.skipped_count(skip_reason::malformed) == 1);
  CHECK(f.skipped_count(skip_reason::missing) == 1);
  REQUIRE(f.skipped_keys.size() == 2);
  CHECK(f.skipped_keys[0].key == "anklet/metrics/broken");
  CHECK(f.skipped_keys[0].detail.find("RFC 3339") != std::string::npos);
  CHECK(f.skipped_keys[1].key == "anklet/metrics/list");

  // A second read into the same fleet gives the same answer (storage is reused).
  REQUIRE(c.del("anklet/metrics/broken"));
  REQUIRE(read_fleet(c, f, o));
  CHECK(f.hosts.size() == 2);
  CHECK(f.skipped_total() == 1);
}

TEST_CASE("v1 and v2 JSON: golden answers with Go's field names, times and escapes") {
  redis_server srv;
  auto c = redis::client::from_url(srv.url()).value();
  load_fleet(c);
  aggregator agg(options_for(srv));

  auto v2 = agg.respond("GET", "/metrics/v2", "format=json");
  CHECK(v2.status == 200);
  CHECK(v2.content_type == "application/json");
  CHECK(v2.body == golden_v2);
  auto v1 = agg.respond("GET", "/metrics/v1", "format=json");
  CHECK(v1.status == 200);
  CHECK(v1.body == golden_v1);

  // Valid JSON with the field names and types of SPEC 8.
  const auto doc = nlohmann::json::parse(v2.body);
  REQUIRE(doc.is_array());
  REQUIRE(doc.size() == 3);
  for (const auto& e : doc) {
    CHECK(e.size() == 28);
    CHECK(e["plugin_total_ran_vms"].is_number_unsigned());
    CHECK(e["host_cpu_usage_percentage"].is_number());
    CHECK(e["last_update"].is_string());
  }
  CHECK(doc[1]["plugin_last_failed_run_job_url"] == "https://github.com/veertuinc/anklet/actions/runs/2?a=1&b=\"2\"");
  const auto obj = nlohmann::json::parse(v1.body);
  CHECK(obj["RECEIVER1"]["plugin_status"] == "hibernating");
}

TEST_CASE("Prometheus on v1 and v2: valid exposition with state set, host labels and skipped keys") {
  redis_server srv;
  auto c = redis::client::from_url(srv.url()).value();
  load_fleet(c);
  aggregator agg(options_for(srv));
  auto r = agg.respond("GET", "/metrics/v1", "format=prometheus");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  const std::string& t = r.body;
  for (const char* line : {
           R"(plugin_status{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet",status="in_progress"} 1)",
           R"(plugin_status{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet",status="idle"} 0)",
           R"(plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",status="idle"} 0)",
           R"(plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",status="hibernating"} 1)",
           R"(plugin_status_since{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet"} 1736294856)",
           R"(plugin_last_failed_run{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet"} 1736290800)",
           R"(plugin_last_canceled_run{name="RUNNER2",plugin="github",owner=""} 0)",
           R"(plugin_total_ran_vms{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet"} 3)",
           R"(host_cpu_count{name="RUNNER1",owner="veertuinc"} 12)",
           R"(host_cpu_count{name="RECEIVER1",owner="veertuinc"} 12)",
           R"(host_cpu_usage_percentage{name="RUNNER2",owner=""} 25.5)",
           R"(last_update{name="RUNNER1",owner="veertuinc"} 1736295423)",
           R"(last_update{name="RUNNER2",owner=""} 1736328615)",
           "anklet_metrics_aggregator_hosts 2",
           R"(anklet_metrics_aggregator_skipped_keys{reason="missing"} 1)",
           R"(anklet_metrics_aggregator_skipped_keys{reason="malformed"} 1)",
       }) {
    CAPTURE(line);
    CHECK(t.find(std::string(line) + "\n") != std::string::npos);
  }
  // Receivers have no run series.
  CHECK(t.find(R"(plugin_total_ran_vms{name="RECEIVER1")") == std::string::npos);
  // v2 is the same text; the read's duration differs between the two reads.
  const auto without_duration = [](const std::string& text) {
    const std::string name = "\nanklet_metrics_aggregator_read_duration_seconds ";
    const auto at = text.find(name);
    return at == std::string::npos ? text : text.substr(0, at) + text.substr(text.find('\n', at + 1));
  };
  CHECK(without_duration(agg.respond("GET", "/metrics/v2", "format=prometheus").body) == without_duration(t));
  CHECK(r.headers == "Vary: Accept\r\n");
  const auto e = testing::parse_exposition(t);
  CHECK(testing::find(e, "anklet_metrics_aggregator_read_duration_seconds") >= 0);
  CHECK(testing::find(e, "anklet_metrics_aggregator_consecutive_read_failures") == 0);

  const auto p = run_promtool(t);
  INFO("promtool output:\n" << p.output);
  CHECK((p.status == 0 || p.status == 3));
  CHECK(only_allowed_lints(p.output));
  CHECK(p.output.find("host_cpu_count non-histogram") != std::string::npos);  // it did parse everything

  // No family carries job_url unless asked: a label per job is a series per job.
  CHECK(t.find("job_url") == std::string::npos);
  auto with_urls = options_for(srv);
  with_urls.prometheus.job_url_label = true;
  aggregator agg_urls(with_urls);
  const std::string u = agg_urls.respond("GET", "/metrics/v1", "format=prometheus").body;
  CHECK(u.find(R"(plugin_last_failed_run{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet",)"
               R"(job_url="https://github.com/veertuinc/anklet/actions/runs/2?a=1&b=\"2\""} 1736290800)"
               "\n") != std::string::npos);
  CHECK(u.find(R"(plugin_last_canceled_run{name="RUNNER2",plugin="github",owner="",job_url=""} 0)"
               "\n") != std::string::npos);
  CHECK(only_allowed_lints(run_promtool(u).output));
}

TEST_CASE("OpenMetrics for a scraper that prefers it: the same series, counters with _total and exemplars") {
  redis_server srv;
  auto c = redis::client::from_url(srv.url()).value();
  load_fleet(c);
  aggregator agg(options_for(srv));
  const std::string_view prometheus_accept =
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
      "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
  for (const auto& [query, accept] : {std::pair{"format=prometheus", prometheus_accept},
                                      std::pair{"format=openmetrics", std::string_view()}}) {
    auto r = agg.respond("GET", "/metrics/v1", query, accept);
    REQUIRE(r.status == 200);
    CHECK(r.content_type == openmetrics_content_type);
    const auto om = testing::parse_openmetrics(r.body);
    const auto text = testing::parse_exposition(agg.respond("GET", "/metrics/v1", "format=prometheus").body);
    CHECK(testing::find(om, "plugin_total_ran_vms_total", {{"name", "RUNNER1"}}) == 3);
    CHECK(testing::find(text, "plugin_total_ran_vms", {{"name", "RUNNER1"}}) == 3);
    CHECK(om.family("plugin_total_ran_vms")->type == testing::metric_type::counter);
    CHECK(om.family("anklet_metrics_aggregator_fleet_age_seconds") == nullptr);  // not started: no age
    CHECK(testing::find(om, "anklet_metrics_aggregator_consecutive_read_failures") == 0);
    // The latest failed run of RUNNER1, from Go's payload, with its offset and fraction.
    const auto* failed = testing::find_sample(om, "plugin_total_failed_runs_since_start_total", {{"name", "RUNNER1"}});
    REQUIRE(failed != nullptr);
    REQUIRE(failed->exemplar);
    CHECK(*failed->exemplar->label_value("job_url") == "https://github.com/veertuinc/anklet/actions/runs/2?a=1&b=\"2\"");
    CHECK(failed->exemplar->timestamp_seconds == doctest::Approx(1736290800.5));
    CHECK_FALSE(testing::find_sample(om, "plugin_total_canceled_runs_since_start_total", {{"name", "RUNNER1"}})->exemplar);
  }
  // curl's */* and the option that turns negotiation off keep the 0.0.4 text.
  CHECK(agg.respond("GET", "/metrics/v1", "format=prometheus", "*/*").content_type == prometheus_content_type);
  auto o = options_for(srv);
  o.negotiate_openmetrics = false;
  aggregator plain(o);
  const auto r = plain.respond("GET", "/metrics/v2", "format=prometheus", prometheus_accept);
  CHECK(r.content_type == prometheus_content_type);
  CHECK(r.headers.empty());
}

TEST_CASE("healthcheck: 503 after failed reads in a row when asked, ok again after a good read") {
  redis_server srv;
  auto o = options_for(srv);
  o.unhealthy_after_failed_reads = 2;
  aggregator agg(o);
  CHECK(agg.respond("GET", "/healthcheck", "").status == 200);
  srv.kill();
  CHECK(agg.respond("GET", "/metrics/v1", "format=json").status == 503);
  CHECK(agg.respond("GET", "/healthcheck", "").status == 200);  // one failure
  CHECK(agg.respond("GET", "/metrics/v1", "format=json").status == 503);
  CHECK(agg.failed_reads_in_a_row() == 2);
  const auto unhealthy = agg.respond("GET", "/healthcheck", "");
  CHECK(unhealthy.status == 503);
  CHECK(unhealthy.body == "unhealthy: 2 reads of Redis in a row failed\n");
  // Off by default.
  aggregator lenient(options_for(srv));
  CHECK(lenient.respond("GET", "/metrics/v1", "format=json").status == 503);
  CHECK(lenient.respond("GET", "/metrics/v1", "format=json").status == 503);
  CHECK(lenient.respond("GET", "/healthcheck", "").status == 200);
}

TEST_CASE("a plugin name reported by two hosts: v2 shows both, v1 and Prometheus the newest") {
  redis_server srv;
  auto c = redis::client::from_url(srv.url()).value();
  const std::string older =
      R"({"last_update":"2025-01-01T00:00:00Z","host_cpu_count":1,"plugins":[{"Name":"R","PluginName":"github","OwnerName":"o","RepoName":"","Status":"idle","StatusSince":"2025-01-01T00:00:00Z","TotalRanVMs":1}]})";
  const std::string newer =
      R"({"last_update":"2025-01-02T00:00:00+01:00","host_cpu_count":2,"plugins":[{"Name":"R","PluginName":"github","OwnerName":"o","RepoName":"","Status":"idle","StatusSince":"2025-01-01T00:00:00Z","TotalRanVMs":2}]})";
  REQUIRE(c.set("anklet/metrics/b", older));
  REQUIRE(c.set("anklet/metrics/a", newer));
  aggregator agg(options_for(srv));
  const auto v2 = nlohmann::json::parse(agg.respond("GET", "/metrics/v2", "format=json").body);
  CHECK(v2.size() == 2);
  const auto v1 = nlohmann::json::parse(agg.respond("GET", "/metrics/v1", "format=json").body);
  CHECK(v1.size() == 1);
  CHECK(v1["R"]["host_cpu_count"] == 2);
  CHECK(v1["R"]["last_update"] == "2025-01-02T00:00:00+01:00");
  const auto prom = agg.respond("GET", "/metrics/v1", "format=prometheus").body;
  CHECK(prom.find("host_cpu_count{name=\"R\",owner=\"o\"} 2\n") != std::string::npos);
  CHECK(prom.find("host_cpu_count{name=\"R\",owner=\"o\"} 1\n") == std::string::npos);
  const auto p = run_promtool(prom);
  INFO(p.output);
  CHECK(only_allowed_lints(p.output));
}

namespace {

// The four answers of a fleet, as the renderers write them.
std::array<std::string, 4> answers(const fleet& f, const prometheus_options& prom) {
  std::array<std::string, 4> out;
  format_fleet_json_v1(f, std::back_inserter(out[0]));
  format_fleet_json_v2(f, std::back_inserter(out[1]));
  format_fleet_prometheus(f, std::back_inserter(out[2]), prom);
  format_fleet_openmetrics(f, std::back_inserter(out[3]), prom);
  return out;
}

// The same fleet without the hosts' rendered lines: every answer written anew.
fleet without_caches(const fleet& f) {
  fleet plain = f;
  for (auto& h : plain.hosts) h.cache.reset();
  return plain;
}

// A redis-server holding load_fleet()'s keys, the client that wrote them and a reader with
// options_for()'s options.
struct fleet_in_redis {
  redis_server srv;
  redis::client writer = redis::client::from_url(srv.url()).value();
  aggregator_options options = options_for(srv);
  redis::client reader{options.client};
  fleet_in_redis() { load_fleet(writer); }

  // Reads the fleet into `f` (taking payloads unchanged since `earlier` from there) and
  // renders its hosts' lines, as the aggregator does.
  void read(fleet& f, const fleet* earlier = nullptr) {
    REQUIRE(read_fleet(reader, f, options.read, {}, earlier));
    bound_output(f, options.read);
  }
};

}  // namespace

TEST_CASE("answers put together from each host's rendered lines are the bytes written anew") {
  fleet f;
  REQUIRE(add_host(f, "anklet/metrics/veertuinc/RUNNER1", go_host));
  REQUIRE(add_host(f, "anklet/metrics/RUNNER2", our_host()));
  REQUIRE(add_host(f, "anklet/metrics/empty", R"({"last_update":"2025-01-01T00:00:00Z","plugins":[]})"));
  REQUIRE(add_host(f, "anklet/metrics/zz", R"({"plugins":[{"Name":"Z","PluginName":"github_receiver"},{"Name":"Y","Status":"x\"y"}]})"));
  for (const bool job_url_label : {false, true}) {
    CAPTURE(job_url_label);
    prometheus_options prom;
    prom.job_url_label = job_url_label;
    fleet rendered = f;
    bound_output(rendered, {}, prom);
    REQUIRE(rendered.hosts.size() == 4);
    for (const auto& h : rendered.hosts) CHECK((h.cache && h.cache->rendered && h.cache->made == fleet_lines{}));
    const auto fast = answers(rendered, prom);
    const auto anew = answers(without_caches(rendered), prom);
    CHECK(fast[0] == anew[0]);
    CHECK(fast[1] == anew[1]);
    CHECK(fast[2] == anew[2]);
    CHECK(fast[3] == anew[3]);
    // Lines rendered for other options are not used for these.
    for (const bool exemplars : {false, true}) {
      prometheus_options other;
      other.job_url_label = !job_url_label;
      other.exemplars = exemplars;
      CHECK(answers(rendered, other) == answers(without_caches(rendered), other));
    }
  }
  // Only some answers' lines made (an aggregator renders those clients asked for): the
  // others are written anew, and every answer is the same bytes; asking for more later
  // renders the hosts again.
  for (int mask = 0; mask < 8; ++mask) {
    CAPTURE(mask);
    const fleet_lines wanted{(mask & 1) != 0, {(mask & 2) != 0, (mask & 4) != 0}};
    fleet some = f;
    bound_output(some, {}, {}, wanted);
    REQUIRE(some.hosts.size() == 4);
    for (const auto& h : some.hosts) CHECK((h.cache && h.cache->rendered && h.cache->made == wanted));
    CHECK(answers(some, {}) == answers(without_caches(some), {}));
    bound_output(some, {}, {}, fleet_lines{});
    for (const auto& h : some.hosts) CHECK(h.cache->made == fleet_lines{});
    CHECK(answers(some, {}) == answers(without_caches(some), {}));
  }
  // Two plugins with one name and owner: the answer is written anew, one series for them.
  REQUIRE(add_host(f, "anklet/metrics/zz2", R"({"last_update":"2030-01-01T00:00:00Z","plugins":[{"Name":"Z"}]})"));
  bound_output(f, {});
  const auto fast = answers(f, {});
  const auto anew = answers(without_caches(f), {});
  CHECK(fast == anew);
  CHECK(anklet::metrics::testing::parse_exposition(fast[2]).families.size() > 0);
}

TEST_CASE("a payload read again unchanged is neither parsed nor rendered again; a changed one is") {
  fleet_in_redis fx;
  auto& c = fx.writer;
  fleet first;
  fx.read(first);
  REQUIRE(first.hosts.size() == 2);
  const auto before = answers(first, {});

  REQUIRE(c.set("anklet/metrics/RUNNER2", our_host() + " "));  // same report, other bytes
  fleet second;
  fx.read(second, &first);
  REQUIRE(second.hosts.size() == 2);
  // Sorted by key: RUNNER2, then veertuinc/RUNNER1 (unchanged).
  CHECK(second.hosts[0].cache != first.hosts[0].cache);
  CHECK(second.hosts[1].cache == first.hosts[1].cache);
  CHECK(second.hosts[1].report == first.hosts[1].report);
  // The read's own duration is in the Prometheus answers; the hosts' lines are what is compared.
  second.scan_time = first.scan_time;
  second.fetch_time = first.fetch_time;
  CHECK(answers(second, {}) == before);
  CHECK(answers(second, {}) == answers(without_caches(second), {}));

  // A host that is gone is gone; one that comes back unchanged from two reads ago is parsed.
  REQUIRE(c.command("DEL", "anklet/metrics/veertuinc/RUNNER1"));
  fleet third;
  fx.read(third, &second);
  CHECK(third.hosts.size() == 1);
  CHECK(third.hosts[0].cache == second.hosts[0].cache);
}

TEST_CASE("a fleet read again with every payload changed keeps its hosts' storage, never one another fleet holds") {
  fleet_in_redis fx;
  auto& c = fx.writer;
  fleet f;
  fx.read(f);
  REQUIRE(f.hosts.size() == 2);
  std::vector<const fleet_host_cache*> storage;
  for (const auto& h : f.hosts) storage.push_back(h.cache.get());

  // Every payload changes, one to fewer plugins and shorter lines: nothing of the old lines
  // may show through the reused strings.
  REQUIRE(c.set("anklet/metrics/RUNNER2", R"({"last_update":"2030-01-01T00:00:00Z","plugins":[{"Name":"N"}]})"));
  std::string go_changed(go_host);
  go_changed.replace(go_changed.find("RUNNER1"), 7, "RUNNER-CHANGED");  // the entries' ends move
  REQUIRE(c.set("anklet/metrics/veertuinc/RUNNER1", go_changed));
  fx.read(f);
  REQUIRE(f.hosts.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) CHECK(f.hosts[i].cache.get() == storage[i]);
  CHECK(f.hosts[0].cache->payload.find("\"N\"") != std::string::npos);
  const auto changed = answers(f, {});
  CHECK(changed == answers(without_caches(f), {}));
  CHECK(changed[0].find("RUNNER-CHANGED") != std::string::npos);
  CHECK(changed[2].find("RUNNER-CHANGED") != std::string::npos);
  CHECK(changed[2].find("RUNNER1\"") == std::string::npos);

  // A copy of the fleet shares its caches: the next read makes new ones and the copy's
  // answers stay as they were.
  const fleet kept = f;
  const auto kept_answers = answers(kept, {});
  load_fleet(c);
  fx.read(f);
  REQUIRE(f.hosts.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) CHECK(f.hosts[i].cache != kept.hosts[i].cache);
  CHECK(answers(kept, {}) == kept_answers);
  CHECK(answers(f, {}) != kept_answers);
  CHECK(answers(f, {}) == answers(without_caches(f), {}));
}

TEST_CASE("routes: healthcheck, /metrics 501, bad format 400, 404, 405, HEAD, empty fleet") {
  redis_server srv;
  aggregator agg(options_for(srv));
  auto h = agg.respond("GET", "/healthcheck", "");
  CHECK(h.status == 200);
  CHECK(h.body == "ok");
  auto m = agg.respond("GET", "/metrics", "");
  CHECK(m.status == 501);
  CHECK(m.body == "please use /metrics/v1");
  for (const char* q : {"", "format=anklet", "format=JSON", "formats=json"}) {
    CAPTURE(q);
    auto r = agg.respond("GET", "/metrics/v1", q);
    CHECK(r.status == 400);
    CHECK(r.body.find("format=json") != std::string::npos);
  }
  CHECK(agg.respond("GET", "/metrics/v3", "format=json").status == 404);
  auto post = agg.respond("POST", "/metrics/v1", "format=json");
  CHECK(post.status == 405);
  CHECK(post.allow == "GET, HEAD");
  auto head = agg.respond("HEAD", "/metrics/v2", "format=json");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(agg.respond("GET", "/metrics/v2", "x=1&format=json").body == "[]\n");
  CHECK(agg.respond("GET", "/metrics/v1", "format=%6Ason").body == "{}\n");
  auto prom = agg.respond("GET", "/metrics/v2", "format=prometheus");
  CHECK(prom.status == 200);
  CHECK(prom.body.find("anklet_metrics_aggregator_hosts 0\n") != std::string::npos);
  CHECK(only_allowed_lints(run_promtool(prom.body).output));
}

TEST_CASE("refresh: a read is reused for its period; 0 reads per request; Redis down is 503, not a partial answer") {
  redis_server srv;
  auto c = redis::client::from_url(srv.url()).value();
  REQUIRE(c.set("anklet/metrics/a", R"({"plugins":[{"Name":"A","PluginName":"github","OwnerName":"o"}]})"));
  auto o = options_for(srv);
  o.refresh = 1h;
  aggregator cached(o);
  aggregator live(options_for(srv));
  CHECK(nlohmann::json::parse(cached.respond("GET", "/metrics/v2", "format=json").body).size() == 1);
  CHECK(nlohmann::json::parse(live.respond("GET", "/metrics/v2", "format=json").body).size() == 1);
  REQUIRE(c.set("anklet/metrics/b", R"({"plugins":[{"Name":"B","PluginName":"github","OwnerName":"o"}]})"));
  CHECK(nlohmann::json::parse(cached.respond("GET", "/metrics/v2", "format=json").body).size() == 1);
  CHECK(nlohmann::json::parse(live.respond("GET", "/metrics/v2", "format=json").body).size() == 2);

  srv.kill();
  auto down = live.respond("GET", "/metrics/v2", "format=json");
  CHECK(down.status == 503);
  CHECK(down.body.find("cannot read the fleet from Redis") != std::string::npos);
  CHECK(live.respond("GET", "/healthcheck", "").status == 200);
}

TEST_CASE("served over HTTP by the responder: routes, HEAD, 404") {
  redis_server srv;
  auto c = redis::client::from_url(srv.url()).value();
  load_fleet(c);
  aggregator agg(options_for(srv));
  http::server_options so;
  so.address = "127.0.0.1";
  so.port = 0;
  aggregator_server server(agg, so);
  server.start();
  auto v2 = test_http::get(server.port(), "/metrics/v2?format=json");
  REQUIRE(v2);
  CHECK(v2->status == 200);
  CHECK(v2->header("content-type") == "application/json");
  CHECK(v2->body == golden_v2);
  auto v1 = test_http::get(server.port(), "/metrics/v1?format=json");
  REQUIRE(v1);
  CHECK(v1->body == golden_v1);
  auto prom = test_http::get(server.port(), "/metrics/v2?format=prometheus");
  REQUIRE(prom);
  CHECK(prom->header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(prom->body.find("anklet_metrics_aggregator_hosts 2\n") != std::string::npos);
  auto head = test_http::get(server.port(), "/metrics/v2?format=json", {}, "HEAD");
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("content-length") == std::to_string(golden_v2.size()));
  CHECK(head->body.empty());
  CHECK(test_http::get(server.port(), "/healthcheck")->body == "ok");
  CHECK(test_http::get(server.port(), "/metrics")->status == 501);
  CHECK(test_http::get(server.port(), "/metrics/v2")->status == 400);
  CHECK(test_http::get(server.port(), "/other")->status == 404);
  auto post = test_http::get(server.port(), "/metrics/v2?format=json", {}, "POST");
  REQUIRE(post);
  CHECK(post->status == 405);
  CHECK(post->header("allow") == "GET, HEAD");
  server.stop();
}

namespace {

// Figures of the hostile-fleet cases for docs/reliability.md (tests/abuse/report.sh).
fault_test::figures_writer write_figures_at_exit{"ANKLET_AGGREGATOR_JSON"};

// Peak RSS (VmHWM) in MiB since the last reset_peak_rss(), which Linux allows through
// clear_refs; elsewhere the process's lifetime peak.
long peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  }
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}
long current_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  }
  return 0;
}
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// One answer of `agg` and how many MiB the peak RSS rose above the RSS before it.
// A named pair, not structured bindings: clang 14 cannot capture those in doctest's CAPTURE.
struct answer_with_rss {
  aggregator_response response;
  long rss_growth_mib = 0;
};

answer_with_rss answer_and_rss(aggregator& agg, std::string_view path, std::string_view query) {
  reset_peak_rss();
  const long before = current_rss_mib();
  auto r = agg.respond("GET", path, query);
  return {std::move(r), peak_rss_mib() - before};
}

std::string plugin_payload(std::string_view name) {
  return R"({"last_update":"2025-01-08T09:30:15Z","plugins":[{"Name":")" + std::string(name) +
         R"(","PluginName":"github","OwnerName":"o","Status":"idle"}]})";
}

}  // namespace

TEST_CASE("one value over the per-value limit is skipped and counted; every other host is served") {
  redis_server srv;
  auto c = redis::client::from_url(srv.url()).value();
  REQUIRE(c.set("anklet/metrics/a", plugin_payload("A")));
  REQUIRE(c.set("anklet/metrics/b-huge", std::string(65u << 20, 'x')));  // 65 MiB: over max_bulk_length too
  REQUIRE(c.set("anklet/metrics/c", plugin_payload("C")));
  REQUIRE(c.set("anklet/metrics/" + std::string(2000, 'k'), plugin_payload("LONGKEY")));
  // Within max_bytes but over the plugin and string limits.
  std::string many = R"({"plugins":[)";
  for (int i = 0; i < 20; ++i) many += std::string(i ? "," : "") + R"({"Name":"p)" + std::to_string(i) + R"("})";
  REQUIRE(c.set("anklet/metrics/d-many", many + "]}"));
  REQUIRE(c.set("anklet/metrics/e-long", R"({"plugins":[{"Name":")" + std::string(5000, 'n') + R"("}]})"));
  auto o = options_for(srv);
  o.client.read_timeout = 5s * anklet_test::sanitizer_slowdown;
  o.read.limits.max_plugins = 16;
  o.read.limits.max_string_bytes = 4096;
  o.refresh = 1h;
  aggregator agg(o);
  const auto answer = answer_and_rss(agg, "/metrics/v2", "format=json");
  const auto& r = answer.response;
  const long rss_growth = answer.rss_growth_mib;
  REQUIRE(r.status == 200);
  const auto j = nlohmann::json::parse(r.body);
  REQUIRE(j.size() == 2);
  CHECK(j[0]["custom_name"] == "A");
  CHECK(j[1]["custom_name"] == "C");
  fault_test::record("one_65mib_value", "rss_growth_mib", static_cast<double>(rss_growth));
  fault_test::record("one_65mib_value", "hosts_served", static_cast<double>(j.size()));
  if (anklet_test::rss_is_measured) CHECK(rss_growth < 32);  // the 65 MiB were never held
  auto prom = agg.respond("GET", "/metrics/v2", "format=prometheus");
  CHECK(prom.body.find("anklet_metrics_aggregator_skipped_keys{reason=\"too_large\"} 1\n") != std::string::npos);
  CHECK(prom.body.find("anklet_metrics_aggregator_skipped_keys{reason=\"key_too_long\"} 1\n") != std::string::npos);
  CHECK(prom.body.find("anklet_metrics_aggregator_skipped_keys{reason=\"over_limits\"} 2\n") != std::string::npos);
  CHECK(agg.with_fleet([](const fleet& f) {
    bool named = false;
    for (const auto& s : f.skipped_keys) named |= s.key == "anklet/metrics/b-huge" && s.reason == skip_reason::too_large;
    CHECK(named);
  }));
}

TEST_CASE("seventy 4 MiB values in one MGET: what fits the batch budget is read, the rest counted, never 503") {
  redis_server srv;
  auto c = redis::client::from_url(srv.url()).value();
  REQUIRE(c.set("anklet/metrics/0-good", plugin_payload("GOOD")));
  const std::string junk(4u << 20, '{');  // each alone within max_bytes
  for (int i = 0; i < 70; ++i) REQUIRE(c.set("anklet/metrics/junk" + std::to_string(100 + i), junk));
  auto o = options_for(srv);
  o.read.mget_batch = 1000;
  o.client.read_timeout = 10s * anklet_test::sanitizer_slowdown;
  o.refresh = 1h;
  aggregator agg(o);
  const auto answer = answer_and_rss(agg, "/metrics/v2", "format=json");
  const auto& r = answer.response;
  const long rss_growth = answer.rss_growth_mib;
  REQUIRE(r.status == 200);
  const auto j = nlohmann::json::parse(r.body);
  REQUIRE(j.size() == 1);
  CHECK(j[0]["custom_name"] == "GOOD");
  CHECK(agg.with_fleet([](const fleet& f) {
    CHECK(f.skipped_count(skip_reason::malformed) + f.skipped_count(skip_reason::over_budget) == 70);
    CHECK(f.skipped_count(skip_reason::over_budget) > 0);
  }));
  MESSAGE("peak RSS grew by " << rss_growth << " MiB");
  fault_test::record("seventy_4mib_values", "rss_growth_mib", static_cast<double>(rss_growth));
  fault_test::record("seventy_4mib_values", "hosts_served", static_cast<double>(j.size()));
  if (anklet_test::rss_is_measured) CHECK(rss_growth < 160);
}

namespace {

// A fake Redis whose SCAN answers `scan(page number)`: RESP of [cursor, keys], and whose
// MGET gives every key the same good payload.
fault_test::scripted_redis::responder scan_responder(std::function<std::string(int)> scan) {
  auto pages = std::make_shared<std::atomic<int>>(0);
  return [scan = std::move(scan), pages](const std::vector<std::string>& argv) {
    if (argv.empty()) return std::string("-ERR empty\r\n");
    if (argv[0] == "SCAN") return scan((*pages)++);
    if (argv[0] == "MGET") {
      std::string out = "*" + std::to_string(argv.size() - 1) + "\r\n";
      for (std::size_t i = 1; i < argv.size(); ++i) {
        const std::string v = plugin_payload(argv[i].substr(argv[i].rfind('/') + 1));
        out += "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
      }
      return out;
    }
    return std::string("-ERR unknown command\r\n");
  };
}

fault_test::scripted_redis scan_fake(std::function<std::string(int)> scan) {
  return fault_test::scripted_redis(0, scan_responder(std::move(scan)));
}

std::string scan_reply(std::uint64_t cursor, const std::vector<std::string>& keys) {
  std::string out = "*2\r\n$" + std::to_string(std::to_string(cursor).size()) + "\r\n" + std::to_string(cursor) +
                    "\r\n*" + std::to_string(keys.size()) + "\r\n";
  for (const auto& k : keys) out += "$" + std::to_string(k.size()) + "\r\n" + k + "\r\n";
  return out;
}

template <class Fake>
aggregator_options fake_options(const Fake& fake) {
  aggregator_options o;
  o.client = fault_test::client_opts(fake.port());
  o.refresh = 1h;
  return o;
}

}  // namespace

TEST_CASE("a SCAN that never ends ends the read with what it found: page limit, repeated cursor, deadline") {
  SUBCASE("a cursor that never returns to 0 stops at max_scan_pages") {
    auto fake = scan_fake([](int page) {
      return scan_reply(static_cast<std::uint64_t>(page) + 1, {"anklet/metrics/H" + std::to_string(page % 3)});
    });
    auto o = fake_options(fake);
    o.read.max_scan_pages = 50;
    aggregator agg(o);
    auto r = agg.respond("GET", "/metrics/v2", "format=json");
    REQUIRE(r.status == 200);
    CHECK(nlohmann::json::parse(r.body).size() == 3);
    CHECK(agg.respond("GET", "/metrics/v2", "format=prometheus").body.find("anklet_metrics_aggregator_scan_complete 0\n") !=
          std::string::npos);
    CHECK(agg.with_fleet([](const fleet& f) { CHECK(f.scan_cut.find("max_scan_pages") != std::string::npos); }));
  }
  SUBCASE("a cursor that comes back") {
    auto fake = scan_fake([](int page) { return scan_reply(page % 2 ? 7 : 9, {"anklet/metrics/A"}); });
    aggregator agg(fake_options(fake));
    auto r = agg.respond("GET", "/metrics/v2", "format=json");
    REQUIRE(r.status == 200);
    CHECK(nlohmann::json::parse(r.body).size() == 1);
    CHECK(agg.with_fleet([](const fleet& f) { CHECK(f.scan_cut.find("came back") != std::string::npos); }));
  }
  SUBCASE("slow pages, each within the client's timeout, stop at max_read_time") {
    auto fake = scan_fake([](int page) {
      std::this_thread::sleep_for(40ms);
      return scan_reply(static_cast<std::uint64_t>(page) + 1, {"anklet/metrics/S"});
    });
    auto o = fake_options(fake);
    o.read.max_read_time = 300ms;
    aggregator agg(o);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = agg.respond("GET", "/metrics/v2", "format=json");
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
    REQUIRE(r.status == 200);
    CHECK(agg.with_fleet([](const fleet& f) { CHECK(f.scan_cut.find("max_read_time") != std::string::npos); }));
  }
  SUBCASE("a stop request ends the SCAN at once") {
    auto fake = scan_fake([](int page) { return scan_reply(static_cast<std::uint64_t>(page) + 1, {"anklet/metrics/A"}); });
    redis::client c(fault_test::client_opts(fake.port()));
    anklet::metrics::stop_source stop;
    stop.request_stop();
    fleet f;
    REQUIRE(read_fleet(c, f, {}, stop.get_token()));
    CHECK(f.scan_cut == "stop requested");
  }
}

TEST_CASE("key bytes are bounded: 60 KB key names are dropped as they arrive, key bytes end the SCAN") {
  SUBCASE("pages of 2,000 keys of 60 KB") {
    const std::string page_reply = [] {
      std::vector<std::string> keys;
      for (int i = 0; i < 2000; ++i) keys.push_back("anklet/metrics/" + std::string(60000, 'k') + std::to_string(i));
      return scan_reply(1, keys);
    }();
    // In a child process: the fake's copies of its 120 MB pages are not this process's RSS.
    fault_test::forked_scripted_redis fake(scan_responder([&page_reply](int page) {
      if (page >= 8) return scan_reply(0, {"anklet/metrics/ok"});
      std::string r = page_reply;  // the cursor, "1", becomes page + 1
      r[8] = static_cast<char>('1' + page);
      return r;
    }));
    auto o = fake_options(fake);
    o.client.read_timeout = 5s * anklet_test::sanitizer_slowdown;
    o.read.max_read_time = 120s;  // a bound of its own, tested elsewhere: not under test here, even on a loaded machine
    aggregator agg(o);
    const auto answer = answer_and_rss(agg, "/metrics/v2", "format=json");
    const auto& r = answer.response;
    const long rss_growth = answer.rss_growth_mib;
    CAPTURE(r.body);
    REQUIRE(r.status == 200);
    CHECK(nlohmann::json::parse(r.body).size() == 1);
    // The 960 MB of key names read would show here if they were kept.
    MESSAGE("960 MB of key names: peak RSS grew by " << rss_growth << " MiB");
    fault_test::record("long_key_names", "rss_growth_mib", static_cast<double>(rss_growth));
    if (anklet_test::rss_is_measured) CHECK(rss_growth < 32);
    CHECK(agg.with_fleet([](const fleet& f) {
      CAPTURE(f.scan_cut);
      CHECK(f.skipped_count(skip_reason::key_too_long) == 16000);
    }));
  }
  SUBCASE("max_key_bytes") {
    auto fake = scan_fake([](int page) {
      std::vector<std::string> keys;
      for (int i = 0; i < 100; ++i) keys.push_back("anklet/metrics/" + std::to_string(page * 100 + i));
      return scan_reply(static_cast<std::uint64_t>(page) + 1, keys);
    });
    auto o = fake_options(fake);
    o.read.max_key_bytes = 10000;
    aggregator agg(o);
    auto r = agg.respond("GET", "/metrics/v2", "format=json");
    REQUIRE(r.status == 200);
    CHECK(agg.with_fleet([](const fleet& f) {
      CHECK(f.scan_cut.find("max_key_bytes") != std::string::npos);
      CHECK(f.hosts.size() > 400);
      CHECK(f.hosts.size() < 600);
    }));
  }
}

namespace {

using anklet_test::strict_json_without_duplicates;

}  // namespace

TEST_CASE("names that render the same are one series and one JSON key (x\\xff and x\\xfe are both x\\uFFFD)") {
  fleet f;
  REQUIRE(add_host(f, "anklet/metrics/h1",
                   R"({"last_update":"2025-01-08T09:30:15Z","plugins":[{"Name":"x)" "\xff" R"(","PluginName":"github","OwnerName":"o","Status":"idle"}]})"));
  REQUIRE(add_host(f, "anklet/metrics/h2",
                   R"({"last_update":"2025-01-08T09:30:16Z","plugins":[{"Name":"x)" "\xfe" R"(","PluginName":"github","OwnerName":"o","Status":"running"}]})"));
  std::string prom;
  format_fleet_prometheus(f, std::back_inserter(prom));
  const auto e = testing::parse_exposition(prom);  // throws on a repeated series
  const auto status = testing::find_all(e, "plugin_status", std::vector<testing::label_matcher>{});
  std::size_t current = 0;
  for (const auto* s : status) {
    CHECK(*s->label_value("name") == "x\xEF\xBF\xBD");
    current += s->value == 1 ? 1 : 0;
  }
  CHECK(current == 1);
  CHECK(testing::find_sample(e, "plugin_status", {{"name", "x\xEF\xBF\xBD"}, {"status", "running"}})->value == 1);
  std::string v1;
  format_fleet_json_v1(f, std::back_inserter(v1));
  CHECK(strict_json_without_duplicates(v1));
  CHECK(nlohmann::json::parse(v1).size() == 1);
  std::string v2;
  format_fleet_json_v2(f, std::back_inserter(v2));
  CHECK(strict_json_without_duplicates(v2));
  CHECK(nlohmann::json::parse(v2).size() == 2);
}

TEST_CASE("output is bounded: a payload of long invalid UTF-8 names is skipped, not rendered 60 times over") {
  redis_server srv;
  auto c = redis::client::from_url(srv.url()).value();
  std::string big = R"({"last_update":"2025-01-08T09:30:15Z","plugins":[)";
  const std::string junk(65000, '\xff');
  for (int i = 0; i < 16; ++i) {
    big += std::string(i ? "," : "") + R"({"Name":")" + std::to_string(i) + junk + R"(","PluginName":")" + junk +
           R"(","OwnerName":")" + junk + R"(","RepoName":")" + junk.substr(0, 60000) + R"("})";
  }
  big += "]}";
  REQUIRE(big.size() <= payload_limits{}.max_bytes);
  REQUIRE(c.set("anklet/metrics/amplifier", big));
  REQUIRE(c.set("anklet/metrics/good", plugin_payload("GOOD")));
  auto o = options_for(srv);
  o.client.read_timeout = 5s * anklet_test::sanitizer_slowdown;
  o.refresh = 1h;
  aggregator agg(o);
  std::size_t answers = 0;
  for (const auto* path : {"/metrics/v1", "/metrics/v2"}) {
    for (const auto* format : {"format=json", "format=prometheus"}) {
      auto r = agg.respond("GET", path, format);
      REQUIRE(r.status == 200);
      answers += r.body.size();
    }
  }
  CHECK(agg.with_fleet([&](const fleet& f) {
    REQUIRE(f.hosts.size() == 1);
    CHECK(f.hosts[0].key == "anklet/metrics/good");
    CHECK(f.skipped_count(skip_reason::output_too_large) == 1);
    // v1 is at most v2 plus its keys: twice the bound holds all four answers.
    CHECK(answers <= 2 * (o.read.output_factor * (f.value_bytes + 64) + o.read.output_per_host));
  }));
  MESSAGE("4 MiB amplifying payload: all four answers " << answers << " bytes");
  fault_test::record("amplifying_payload", "payload_bytes", static_cast<double>(big.size()));
  fault_test::record("amplifying_payload", "answer_bytes", static_cast<double>(answers));
}

namespace {

using anklet_test::eventually;

double p99_ms(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, v.size() * 99 / 100)];
}

}  // namespace

TEST_CASE("background reads: answers from the last complete read with its age; a failed read keeps the last view") {
  redis_server srv;
  auto c = redis::client::from_url(srv.url()).value();
  REQUIRE(c.set("anklet/metrics/a", plugin_payload("A")));
  auto o = options_for(srv);
  o.refresh = 200ms;
  std::vector<std::string> logged;
  std::mutex log_mutex;
  o.log = [&](log_level, std::string_view line) {
    std::lock_guard lock(log_mutex);
    logged.emplace_back(line);
  };
  aggregator agg(o);
  CHECK(agg.reads_completed() == 0);  // no thread until asked
  agg.start();
  REQUIRE(eventually([&] { return agg.reads_completed() >= 1; }));
  auto first = agg.respond("GET", "/metrics/v2", "format=json");
  REQUIRE(first.status == 200);
  REQUIRE(first.age_seconds);
  CHECK(nlohmann::json::parse(first.body).size() == 1);
  auto prom = agg.respond("GET", "/metrics/v2", "format=prometheus");
  const auto e = testing::parse_exposition(prom.body);
  REQUIRE(testing::find_sample(e, "anklet_metrics_aggregator_fleet_age_seconds", {}));
  CHECK(testing::find_sample(e, "anklet_metrics_aggregator_fleet_age_seconds", {})->value < 1);

  REQUIRE(c.set("anklet/metrics/b", plugin_payload("B")));
  REQUIRE(eventually([&] { return nlohmann::json::parse(agg.respond("GET", "/metrics/v2", "format=json").body).size() == 2; }));
  srv.kill();
  std::this_thread::sleep_for(1500ms);
  auto kept = agg.respond("GET", "/metrics/v2", "format=json");
  CHECK(kept.status == 200);
  CHECK(nlohmann::json::parse(kept.body).size() == 2);
  REQUIRE(kept.age_seconds);
  CHECK(*kept.age_seconds >= 1);
  agg.stop();
  std::lock_guard lock(log_mutex);
  bool failure_logged = false;
  for (const auto& l : logged) failure_logged |= l.find("cannot read the fleet from Redis") != std::string::npos;
  CHECK(failure_logged);
}

TEST_CASE("a slow or endless SCAN: healthcheck and scrapes answer at once, whole, from the last read") {
  // Seven pages of 300 ms each (each within the client's timeout), then a cursor that never
  // returns to 0: every read takes max_read_time.
  auto fake = scan_fake([](int page) {
    std::this_thread::sleep_for(300ms);
    std::vector<std::string> keys;
    for (int i = 0; i < 40; ++i) keys.push_back("anklet/metrics/h" + std::to_string((page % 7) * 40 + i));
    return scan_reply(static_cast<std::uint64_t>(page) + 1, keys);
  });
  auto o = fake_options(fake);
  o.client.read_timeout = 1s;
  o.read.max_read_time = 2500ms;  // 8 pages: every key seen with room to spare
  o.refresh = 0ms;
  aggregator agg(o);
  http::server_options so;
  so.address = "127.0.0.1";
  so.port = 0;
  so.write_timeout = 1s;
  aggregator_server server(agg, so);
  agg.start();
  server.start();
  REQUIRE(eventually([&] { return agg.reads_completed() >= 1; }, 10s));
  std::vector<double> health_ms, scrape_ms;
  const auto t_end = std::chrono::steady_clock::now() + 3s;  // spans a whole read
  while (std::chrono::steady_clock::now() < t_end) {
    auto t0 = std::chrono::steady_clock::now();
    auto h = test_http::get(server.port(), "/healthcheck");
    health_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    REQUIRE(h);
    CHECK(h->body == "ok");
    t0 = std::chrono::steady_clock::now();
    auto s = test_http::get(server.port(), "/metrics/v2?format=prometheus");
    scrape_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    REQUIRE(s);
    CHECK(s->status == 200);
    CHECK(s->header("content-length") == std::to_string(s->body.size()));
    CHECK_FALSE(s->header("age").empty());
    CHECK(s->body.find("anklet_metrics_aggregator_hosts 280\n") != std::string::npos);
  }
  MESSAGE("during slow endless SCANs: healthcheck p99 " << p99_ms(health_ms) << " ms, scrape p99 " << p99_ms(scrape_ms)
                                                       << " ms over " << scrape_ms.size() << " scrapes");
  fault_test::record("slow_endless_scan", "healthcheck_p99_ms", p99_ms(health_ms));
  fault_test::record("slow_endless_scan", "scrape_p99_ms", p99_ms(scrape_ms));
  fault_test::record("slow_endless_scan", "scrapes", static_cast<double>(scrape_ms.size()));
  CHECK(p99_ms(health_ms) < 100 * anklet_test::sanitizer_slowdown);
  CHECK(p99_ms(scrape_ms) < 100 * anklet_test::sanitizer_slowdown);
  const auto t_stop = std::chrono::steady_clock::now();
  server.stop();
  agg.stop();  // ends the read in progress at its next page
  CHECK(std::chrono::steady_clock::now() - t_stop < 1500ms);
}

TEST_CASE("an answer after a handler slower than the write timeout is sent whole (write deadline from the send)") {
  auto fake = scan_fake([](int page) {
    std::this_thread::sleep_for(300ms);
    std::vector<std::string> keys;
    for (int i = 0; i < 400; ++i) keys.push_back("anklet/metrics/h" + std::to_string(page * 400 + i));
    return scan_reply(page < 2 ? static_cast<std::uint64_t>(page) + 1 : 0, keys);
  });
  auto o = fake_options(fake);
  o.client.read_timeout = 2s;
  o.refresh = 0ms;  // no start(): the request waits for the read, 0.9 s
  aggregator agg(o);
  http::server_options so;
  so.address = "127.0.0.1";
  so.port = 0;
  so.write_timeout = 300ms;
  aggregator_server server(agg, so);
  server.start();
  auto r = test_http::get(server.port(), "/metrics/v2?format=prometheus");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body.size() > (1u << 20));  // many times the 64 KiB socket buffer: many sends after the deadline's start
  CHECK(r->header("content-length") == std::to_string(r->body.size()));
  CHECK(r->body.find("anklet_metrics_aggregator_hosts 1200\n") != std::string::npos);
  fault_test::record("slow_read_answer", "body_bytes", static_cast<double>(r->body.size()));
  server.stop();
}
