// Prints Prometheus text for the promtool check (tests/promtool_check.sh).
// Modes: `full` (mixed snapshot, histograms, the exporter program's own families and
// more), `openmetrics` (the same in OpenMetrics), `solo` (receivers only), `unknown-status`
// (a state set whose current status is no known one, as the aggregator may see), and
// `catalogue`: one line per family, `scope<TAB>name<TAB>type<TAB>labels`, scope `exporter`
// or `fleet`, in the order each writes them (tests/check_catalogue.py reads it).
#include <cstdio>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/fleet/payload_reader.hpp"
#include "anklet/metrics/http/scrape_counts.hpp"
#include "anklet/metrics/redis/writer_metrics.hpp"
#include "anklet/metrics/render/collector.hpp"
#include "anklet/metrics/render/openmetrics.hpp"
#include "anklet/metrics/render/prometheus.hpp"
#include "render_fixtures.hpp"

using namespace anklet::metrics;
using namespace anklet_test;

namespace {

std::string_view labels_of(catalogue::label_set l, bool fleet) {
  switch (l) {
    case catalogue::label_set::none: return "";
    case catalogue::label_set::plugin: return "name, plugin, owner, [repo]";
    case catalogue::label_set::plugin_state: return "name, plugin, owner, [repo], status";
    case catalogue::label_set::plugin_run: return "name, plugin, owner, [repo], [job_url]";
    case catalogue::label_set::host: return fleet ? "name, owner" : "";
    case catalogue::label_set::reason: return "reason";
    case catalogue::label_set::plugin_outcome: return "name, plugin, owner, [repo], outcome";
    case catalogue::label_set::format_code: return "format, code";
    case catalogue::label_set::result: return "result";
  }
  return "?";
}

void add_family(std::string& out, std::string_view scope, const catalogue::family& f) {
  const bool fleet = scope == "fleet";
  out.append(scope).append("\t").append(f.name).append("\t").append(to_string(f.type)).append("\t");
  out.append(labels_of(f.labels, fleet)).append("\n");
}

std::string catalogue_lines() {
  std::string out;
  for (const auto& t : catalogue::process_totals<metrics_snapshot>) add_family(out, "exporter", t.meta);
  for (const auto& f : catalogue::plugin_families<plugin_metrics>) add_family(out, "exporter", f.meta);
  for (const auto& f : catalogue::plugin_histograms) add_family(out, "exporter", f);
  for (const auto& f : catalogue::host_fields) add_family(out, "exporter", f.meta);
  for (const auto& f : catalogue::exporter_self_families) add_family(out, "exporter", f);
  for (const auto& f : catalogue::plugin_families<reported_plugin>) add_family(out, "fleet", f.meta);
  for (const auto& f : catalogue::host_fields) add_family(out, "fleet", f.meta);
  for (const auto& f : catalogue::fleet_families) add_family(out, "fleet", f);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "full";
  std::string out;
  if (mode == "full" || mode == "openmetrics") {
    auto m = mixed_snapshot_with_histograms();
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
    // The exporter program's own families follow, as its server writes them.
    const auto format = mode == "full" ? exposition_format::prometheus : exposition_format::openmetrics;
    auto scrapes = std::make_shared<http::scrape_counts>();
    scrapes->count(metrics_format::openmetrics, 200);
    scrapes->count(std::nullopt, 400);
    redis::writer_options wo;
    wo.key = "anklet/metrics/o/n";
    const redis::writer writer(wo);
    const std::vector<any_collector> collectors{scrapes, std::make_shared<redis::writer_metrics>(writer)};
    fmt::memory_buffer body;
    write_through(std::back_inserter(body), [&](auto& sink) { detail::write_snapshot_families(sink, format, m, {}); });
    write_collectors(collectors, format, body);
    if (format == exposition_format::openmetrics) body.append(openmetrics_eof);
    out.assign(body.data(), body.size());
  } else if (mode == "solo") {
    out = to_prometheus(receiver_only_snapshot());
  } else if (mode == "unknown-status") {
    text_sink s(std::back_inserter(out));
    write_prometheus_family_header(s, "plugin_status", "Plugin status as a state set.", "gauge");
    write_status_state_set(
        s, "plugin_status", [](auto& ls) { write_prometheus_label(ls, "name", "r1"); }, "exploded \"x\"\n");
    write_status_state_set(
        s, "plugin_status", [](auto& ls) { write_prometheus_label(ls, "name", "r2"); }, "idle");
  } else if (mode == "catalogue") {
    out = catalogue_lines();
  } else {
    std::fprintf(stderr, "unknown mode\n");
    return 2;
  }
  return std::fwrite(out.data(), 1, out.size(), stdout) == out.size() ? 0 : 1;
}
