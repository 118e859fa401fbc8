// Prints Prometheus text for the promtool check (tests/promtool_check.sh).
// Modes: `full` (mixed snapshot and more), `solo` (receivers only), `unknown-status`
// (a state set whose current status is no known one, as the aggregator may see).
#include <cstdio>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>

#include "anklet/metrics/prometheus.hpp"
#include "render_fixtures.hpp"

using namespace anklet::metrics;
using namespace anklet_test;

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "full";
  std::string out;
  if (mode == "full") {
    auto m = mixed_snapshot();
    plugin_metrics big;
    big.kind = plugin_kind::handler;
    big.name = "big \xF0\x9F\x9A\x80 \xff invalid";
    big.plugin_name = "github";
    big.owner_name = "owner";
    big.repo_name = "repo with spaces and = , { } signs";
    big.status = plugin_status::draining;
    big.status_since = at(t0, 999999999);
    big.last_canceled_run = at(t0 - 1);
    big.last_canceled_run_job_url = "https://example.invalid/run?x=\"1\"\\2\n3";
    big.total_ran_vms = std::numeric_limits<std::uint64_t>::max();
    m.plugins.push_back(big);
    m.host.memory_usage_percentage = 1e-7;
    m.host.cpu_usage_percentage = std::numeric_limits<double>::quiet_NaN();
    out = to_prometheus(m);
  } else if (mode == "solo") {
    out = to_prometheus(receiver_only_snapshot());
  } else if (mode == "unknown-status") {
    text_sink s(std::back_inserter(out));
    write_prometheus_family_header(s, "plugin_status", "Plugin status as a state set.", "gauge");
    write_status_state_set(
        s, "plugin_status", [](auto& ls) { write_prometheus_label(ls, "name", "r1"); }, "exploded \"x\"\n");
    write_status_state_set(
        s, "plugin_status", [](auto& ls) { write_prometheus_label(ls, "name", "r2"); }, "idle");
  } else {
    std::fprintf(stderr, "unknown mode\n");
    return 2;
  }
  return std::fwrite(out.data(), 1, out.size(), stdout) == out.size() ? 0 : 1;
}
