// The JSON payload read back by a real JSON parser: field names and JSON types exactly,
// and validity for any input bytes.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>

#include "anklet/metrics/render/json.hpp"
#include "render_fixtures.hpp"

using namespace anklet::metrics;
using namespace anklet_test;
using nlohmann::json;

namespace {

std::set<std::string> keys_of(const json& j) {
  std::set<std::string> out;
  for (const auto& [k, v] : j.items()) out.insert(k);
  return out;
}

const std::set<std::string> top_level_keys{
    "last_update",
    "total_running_vms",
    "total_successful_runs_since_start",
    "total_failed_runs_since_start",
    "total_canceled_runs_since_start",
    "host_cpu_count",
    "host_cpu_used_count",
    "host_cpu_usage_percentage",
    "host_memory_total_bytes",
    "host_memory_used_bytes",
    "host_memory_available_bytes",
    "host_memory_usage_percentage",
    "host_disk_total_bytes",
    "host_disk_used_bytes",
    "host_disk_available_bytes",
    "host_disk_usage_percentage",
    "plugins",
};
// Go's aggregator asserts the type of all 16 fields of every plugin, receivers included.
const std::set<std::string> plugin_keys{"Name",
                                         "PluginName",
                                         "RepoName",
                                         "OwnerName",
                                         "Status",
                                         "StatusSince",
                                         "LastSuccessfulRunJobUrl",
                                         "LastFailedRunJobUrl",
                                         "LastCanceledRunJobUrl",
                                         "LastSuccessfulRun",
                                         "LastFailedRun",
                                         "LastCanceledRun",
                                         "TotalRanVMs",
                                         "TotalSuccessfulRunsSinceStart",
                                         "TotalFailedRunsSinceStart",
                                         "TotalCanceledRunsSinceStart"};

}  // namespace

TEST_CASE("JSON: every field is there with the JSON type Go writes") {
  const auto m = mixed_snapshot();
  const json j = json::parse(to_json(m));
  REQUIRE(j.is_object());
  CHECK(keys_of(j) == top_level_keys);
  CHECK(j["last_update"].is_string());
  for (const char* k : {"total_running_vms", "total_successful_runs_since_start", "total_failed_runs_since_start",
                        "total_canceled_runs_since_start", "host_cpu_count", "host_cpu_used_count",
                        "host_memory_total_bytes", "host_memory_used_bytes", "host_memory_available_bytes",
                        "host_disk_total_bytes", "host_disk_used_bytes", "host_disk_available_bytes"}) {
    CAPTURE(k);
    CHECK(j[k].is_number_integer());
  }
  for (const char* k : {"host_cpu_usage_percentage", "host_memory_usage_percentage", "host_disk_usage_percentage"}) {
    CAPTURE(k);
    CHECK(j[k].is_number());
  }
  CHECK(j["total_successful_runs_since_start"].get<std::uint64_t>() == 40);
  CHECK(j["host_memory_total_bytes"].get<std::uint64_t>() == 17179869184u);
  CHECK(j["host_cpu_usage_percentage"].get<double>() == m.host.cpu_usage_percentage);
  CHECK(j["host_disk_usage_percentage"].get<double>() == 25.5);

  REQUIRE(j["plugins"].is_array());
  REQUIRE(j["plugins"].size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const json& p = j["plugins"][i];
    const auto& src = m.plugins[i];
    CAPTURE(src.name);
    CHECK(keys_of(p) == plugin_keys);
    CHECK(p["Name"].get<std::string>() == src.name);
    CHECK(p["PluginName"].get<std::string>() == src.plugin_name);
    CHECK(p["RepoName"].get<std::string>() == src.repo_name);
    CHECK(p["OwnerName"].get<std::string>() == src.owner_name);
    CHECK(p["Status"].get<std::string>() == to_string(src.status));
    CHECK(p["StatusSince"].is_string());
    {
      CHECK(p["LastSuccessfulRunJobUrl"].get<std::string>() == src.last_successful_run_job_url);
      CHECK(p["LastFailedRunJobUrl"].get<std::string>() == src.last_failed_run_job_url);
      CHECK(p["LastCanceledRunJobUrl"].get<std::string>() == src.last_canceled_run_job_url);
      for (const char* k : {"LastSuccessfulRun", "LastFailedRun", "LastCanceledRun"}) CHECK(p[k].is_string());
      CHECK(p["TotalRanVMs"].get<std::uint64_t>() == src.total_ran_vms);
      CHECK(p["TotalSuccessfulRunsSinceStart"].get<std::uint64_t>() == src.total_successful_runs_since_start);
      CHECK(p["TotalFailedRunsSinceStart"].get<std::uint64_t>() == src.total_failed_runs_since_start);
      CHECK(p["TotalCanceledRunsSinceStart"].get<std::uint64_t>() == src.total_canceled_runs_since_start);
      for (const char* k : {"TotalRanVMs", "TotalSuccessfulRunsSinceStart", "TotalFailedRunsSinceStart",
                            "TotalCanceledRunsSinceStart"}) {
        CHECK(p[k].is_number_integer());
      }
    }
  }
}

TEST_CASE("JSON: a solo receiver and an empty store are still complete objects") {
  const json solo = json::parse(to_json(receiver_only_snapshot()));
  CHECK(keys_of(solo) == top_level_keys);
  CHECK(keys_of(solo["plugins"][0]) == plugin_keys);
  CHECK(solo["plugins"][0]["LastSuccessfulRun"].get<std::string>() == "0001-01-01T00:00:00Z");
  CHECK(solo["plugins"][0]["TotalRanVMs"].get<std::uint64_t>() == 0);
  CHECK(solo["plugins"][0]["LastFailedRunJobUrl"].get<std::string>().empty());
  const json empty = json::parse(to_json(metrics_snapshot{}));
  CHECK(keys_of(empty) == top_level_keys);
  CHECK(empty["plugins"].is_array());
  CHECK(empty["plugins"].empty());
  CHECK(empty["last_update"].get<std::string>() == "0001-01-01T00:00:00Z");
}

TEST_CASE("JSON: non-finite percentages still give valid JSON numbers") {
  auto m = receiver_only_snapshot();
  m.host.cpu_usage_percentage = std::numeric_limits<double>::quiet_NaN();
  m.host.disk_usage_percentage = std::numeric_limits<double>::infinity();
  const json j = json::parse(to_json(m));
  CHECK(j["host_cpu_usage_percentage"].is_number());
  CHECK(j["host_disk_usage_percentage"].is_number());
}

TEST_CASE("JSON: any bytes in strings give valid JSON, valid UTF-8 survives unchanged") {
  std::mt19937 rng(20240115);  // fixed seed: the same inputs on every run
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 40);
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  for (int round = 0; round < 300; ++round) {
    metrics_snapshot m;
    plugin_metrics p;
    p.name = round == 0 ? all_bytes : std::string();
    for (int i = length(rng); i > 0; --i) p.name.push_back(static_cast<char>(byte(rng)));
    p.owner_name = "valid: Zürich \u2028 <&> \"q\" \\ \x01 \U0001F680";
    p.last_failed_run_job_url = p.name + p.owner_name;
    m.plugins.push_back(p);
    const std::string text = to_json(m);
    CAPTURE(round);
    json j;
    REQUIRE_NOTHROW(j = json::parse(text));
    CHECK(j["plugins"][0]["OwnerName"].get<std::string>() == p.owner_name);
    const std::string name = j["plugins"][0]["Name"].get<std::string>();
    // Valid input survives; otherwise only replacement characters were added.
    if (name != p.name) CHECK(name.find("\xEF\xBF\xBD") != std::string::npos);
  }
}
