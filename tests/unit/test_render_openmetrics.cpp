// The OpenMetrics renderer (render/openmetrics.hpp), the histograms in both text formats,
// and the primitives they share (render/exposition.hpp): every output is read back by the
// strict readers of the testing kit.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "anklet/metrics/render/openmetrics.hpp"
#include "anklet/metrics/render/prometheus.hpp"
#include "anklet/metrics/store.hpp"
#include "anklet/metrics/testing.hpp"
#include "render_fixtures.hpp"

using namespace anklet::metrics;
using namespace anklet_test;
namespace amt = anklet::metrics::testing;
using namespace std::chrono_literals;

namespace {

std::string canonical(double v) {
  std::string out;
  text_sink s(std::back_inserter(out));
  write_canonical_number(s, v);
  return out;
}

// A store with a handler that ran one job of each outcome and pulled a template, and a receiver.
struct ran_jobs {
  basic_store<null_lock, manual_clock> store{manual_clock{at(t0)}};
  ran_jobs() {
    auto h = store.add_handler({"RUNNER1", "github", "veertuinc", "anklet"});
    store.add_receiver({"RECEIVER1", "github_receiver", "veertuinc", ""});
    h.set_status(plugin_status::pulling);
    store.clock().advance(42s);
    h.set_status(plugin_status::running);
    for (const auto& [outcome, seconds] : {std::pair{run_outcome::successful, 95}, std::pair{run_outcome::failed, 4000},
                                          std::pair{run_outcome::successful, 20}, std::pair{run_outcome::canceled, 7}}) {
      h.set_status(plugin_status::in_progress);
      store.clock().advance(std::chrono::seconds(seconds));
      h.finish_run(outcome, "https://github.com/veertuinc/anklet/actions/runs/" + std::to_string(seconds));
      h.set_status(plugin_status::idle);
    }
  }
};

}  // namespace

TEST_CASE("exposition names: counters lose or gain _total, units only as a suffix") {
  using catalogue::family_type;
  constexpr auto om = exposition_format::openmetrics;
  constexpr auto text = exposition_format::prometheus;
  static_assert(family_name(om, "plugin_total_ran_vms", family_type::counter) == "plugin_total_ran_vms");
  static_assert(sample_suffix(om, "plugin_total_ran_vms", family_type::counter) == "_total");
  static_assert(family_name(om, "anklet_metrics_scrapes_total", family_type::counter) == "anklet_metrics_scrapes");
  static_assert(sample_suffix(om, "anklet_metrics_scrapes_total", family_type::counter).empty());
  static_assert(family_name(text, "anklet_metrics_scrapes_total", family_type::counter) == "anklet_metrics_scrapes_total");
  static_assert(sample_suffix(text, "plugin_total_ran_vms", family_type::counter).empty());
  static_assert(family_name(om, "x_total", family_type::gauge) == "x_total");
  static_assert(unit_applies("plugin_job_duration_seconds", "seconds"));
  static_assert(unit_applies("host_memory_total_bytes", "bytes"));
  static_assert(!unit_applies("plugin_status_since", "seconds"));
  static_assert(!unit_applies("host_cpu_usage_percentage", "percent"));
  static_assert(!unit_applies("seconds", "seconds"));
  static_assert(!unit_applies("xseconds", "seconds"));
  static_assert(!unit_applies("x_seconds", ""));
  CHECK(true);
}

TEST_CASE("canonical numbers for le, as the OpenMetrics specification spells them") {
  CHECK(canonical(0) == "0.0");
  CHECK(canonical(0.001) == "0.001");
  CHECK(canonical(0.95) == "0.95");
  CHECK(canonical(1) == "1.0");
  CHECK(canonical(1.7) == "1.7");
  CHECK(canonical(10) == "10.0");
  CHECK(canonical(1e-10) == "1e-10");
  CHECK(canonical(1e-9) == "1e-09");
  CHECK(canonical(1e-5) == "1e-05");
  CHECK(canonical(1e-4) == "0.0001");
  CHECK(canonical(100000) == "100000.0");
  CHECK(canonical(1e6) == "1e+06");
  CHECK(canonical(1e10) == "1e+10");
  CHECK(canonical(21600) == "21600.0");
  CHECK(canonical(1234567) == "1.234567e+06");
  CHECK(canonical(-2.5) == "-2.5");
  CHECK(canonical(std::numeric_limits<double>::infinity()) == "+Inf");
}

TEST_CASE("OpenMetrics: the same families and values as the 0.0.4 text, in OpenMetrics' spelling") {
  const auto snap = mixed_snapshot();
  const std::string text = to_openmetrics(snap);
  CHECK(text.size() > 6);
  CHECK(text.substr(text.size() - 6) == "# EOF\n");
  const amt::exposition om = amt::parse_openmetrics(text);
  const amt::exposition prom = amt::parse_exposition(to_prometheus(snap));
  REQUIRE(om.families.size() == prom.families.size());
  for (std::size_t i = 0; i < om.families.size(); ++i) {
    const auto& o = om.families[i];
    const auto& p = prom.families[i];
    INFO("family ", p.name);
    CHECK(o.name == p.name);  // none of these counters' names end in _total
    CHECK(o.type == p.type);
    CHECK(o.help == p.help);
    REQUIRE(o.samples.size() == p.samples.size());
    for (std::size_t k = 0; k < o.samples.size(); ++k) {
      CHECK(o.samples[k].name == p.samples[k].name + (p.type == amt::metric_type::counter ? "_total" : ""));
      CHECK(o.samples[k].labels == p.samples[k].labels);
      CHECK(o.samples[k].value == doctest::Approx(p.samples[k].value));
    }
    // A unit only where the name ends in it.
    const bool bytes = p.name.size() > 6 && p.name.substr(p.name.size() - 6) == "_bytes";
    CHECK(o.unit == (bytes ? std::optional<std::string>("bytes") : std::nullopt));
  }
  CHECK(text.find("# TYPE plugin_total_ran_vms counter\n") != std::string::npos);
  CHECK(text.find("\nplugin_total_ran_vms_total{name=\"RUNNER1\"") != std::string::npos);
}

TEST_CASE("OpenMetrics: each handler's run counters carry the latest run as an exemplar") {
  const auto snap = mixed_snapshot();
  const amt::exposition om = amt::parse_openmetrics(to_openmetrics(snap));
  const auto* ok = amt::find_sample(om, "plugin_total_successful_runs_since_start_total", {{"name", "RUNNER1"}});
  REQUIRE(ok != nullptr);
  REQUIRE(ok->exemplar);
  CHECK(*ok->exemplar->label_value("job_url") == snap.plugins[0].last_successful_run_job_url);
  CHECK(ok->exemplar->value == 1);
  CHECK(ok->exemplar->timestamp_seconds == doctest::Approx(static_cast<double>(t0 - 3600) + 0.123));
  const auto* failed = amt::find_sample(om, "plugin_total_failed_runs_since_start_total", {{"name", "RUNNER1"}});
  REQUIRE(failed->exemplar);
  CHECK(failed->exemplar->timestamp_seconds == static_cast<double>(t0 - 7200));
  // Zürich counted canceled runs but has no job URL; RUNNER1 has no canceled run.
  CHECK_FALSE(amt::find_sample(om, "plugin_total_canceled_runs_since_start_total", {{"name", "Zürich"}})->exemplar);
  CHECK_FALSE(amt::find_sample(om, "plugin_total_canceled_runs_since_start_total", {{"name", "RUNNER1"}})->exemplar);
  CHECK_FALSE(amt::find_sample(om, "plugin_total_ran_vms_total", {{"name", "RUNNER1"}})->exemplar);
  CHECK_FALSE(amt::find_sample(om, "total_successful_runs_since_start_total")->exemplar);
  // The 0.0.4 text has no exemplars, and the option turns them off.
  CHECK(to_prometheus(snap).find(" # {") == std::string::npos);
  CHECK(to_openmetrics(snap, {.job_url_label = false, .exemplars = false}).find(" # {") == std::string::npos);
  // With the job_url label asked for, OpenMetrics carries it too.
  const auto labelled = amt::parse_openmetrics(to_openmetrics(snap, {.job_url_label = true}));
  CHECK(amt::find(labelled, "plugin_last_failed_run",
                  {{"name", "RUNNER1"}, {"job_url", "https://github.com/veertuinc/anklet/actions/runs/2"}}) ==
        static_cast<double>(t0 - 7200));
}

TEST_CASE("OpenMetrics: a job URL too long for an exemplar is dropped, never cut") {
  auto snap = mixed_snapshot();
  auto& p = snap.plugins[0];
  const auto exemplar_of = [&] {
    const auto om = amt::parse_openmetrics(to_openmetrics(snap));
    return amt::find_sample(om, "plugin_total_successful_runs_since_start_total", {{"name", "RUNNER1"}})->exemplar;
  };
  p.last_successful_run_job_url = std::string(121, 'u');  // "job_url" + 121 = 128 code points
  CHECK(exemplar_of());
  p.last_successful_run_job_url = std::string(122, 'u');
  CHECK_FALSE(exemplar_of());
  p.last_successful_run_job_url.clear();
  for (int i = 0; i < 121; ++i) p.last_successful_run_job_url += "\xC3\xA9";  // 121 code points, 242 bytes
  CHECK(exemplar_of());
  p.last_successful_run_job_url = std::string(120, 'u') + "\xff\xfe";  // each invalid byte is one U+FFFD
  CHECK_FALSE(exemplar_of());
  // Before 1970 or never: the exemplar has no time.
  p.last_successful_run_job_url = "https://ci/1";
  p.last_successful_run = at(-5);
  CHECK_FALSE(exemplar_of()->timestamp_seconds);
  p.last_successful_run = never;
  CHECK_FALSE(exemplar_of()->timestamp_seconds);
}

TEST_CASE("histograms: job and pull durations in both formats, read back") {
  ran_jobs r;
  const auto snap = r.store.snapshot();
  for (const bool openmetrics : {false, true}) {
    const std::string format = openmetrics ? "OpenMetrics" : "0.0.4";
    INFO(format);
    const amt::exposition e = openmetrics ? amt::scrape_openmetrics(snap) : amt::scrape(snap);
    const auto* jobs = e.family("plugin_job_duration_seconds");
    REQUIRE(jobs != nullptr);
    CHECK(jobs->type == amt::metric_type::histogram);
    CHECK(jobs->unit == (openmetrics ? std::optional<std::string>("seconds") : std::nullopt));
    // One handler, three outcomes, 13 bounds and +Inf, _sum and _count; the receiver has none.
    CHECK(jobs->samples.size() == 3 * (13 + 1 + 2));
    const auto bucket = [&](std::string_view outcome, std::string_view le) {
      return amt::find(e, "plugin_job_duration_seconds_bucket",
                       {{"name", "RUNNER1"}, {"repo", "anklet"}, {"outcome", outcome}, {"le", le}});
    };
    CHECK(bucket("successful", "10.0") == 0);
    CHECK(bucket("successful", "30.0") == 1);
    CHECK(bucket("successful", "120.0") == 2);
    CHECK(bucket("successful", "+Inf") == 2);
    CHECK(bucket("failed", "3600.0") == 0);
    CHECK(bucket("failed", "7200.0") == 1);
    CHECK(bucket("canceled", "10.0") == 1);
    CHECK(amt::find(e, "plugin_job_duration_seconds_sum", {{"name", "RUNNER1"}, {"outcome", "successful"}}) == 115);
    CHECK(amt::find(e, "plugin_job_duration_seconds_count", {{"name", "RUNNER1"}, {"outcome", "failed"}}) == 1);
    const amt::label_matcher receiver[] = {{"name", "RECEIVER1"}};
    CHECK(amt::find_all(e, "plugin_job_duration_seconds_bucket", receiver).empty());
    CHECK(amt::find(e, "plugin_pull_duration_seconds_bucket", {{"name", "RUNNER1"}, {"le", "30.0"}}) == 0);
    CHECK(amt::find(e, "plugin_pull_duration_seconds_bucket", {{"name", "RUNNER1"}, {"le", "60.0"}}) == 1);
    CHECK(amt::find(e, "plugin_pull_duration_seconds_sum", {{"name", "RUNNER1"}}) == 42);
  }
  // Histograms come after the per-plugin families and before the host figures.
  const std::string text = to_prometheus(snap);
  CHECK(text.find("# TYPE plugin_total_canceled_runs_since_start") < text.find("# TYPE plugin_job_duration_seconds"));
  CHECK(text.find("# TYPE plugin_pull_duration_seconds") < text.find("# TYPE host_cpu_count"));
  // A snapshot built by hand, without histograms, renders none.
  CHECK(to_prometheus(mixed_snapshot()).find("duration_seconds") == std::string::npos);
}

TEST_CASE("histograms: custom buckets, and series without labels") {
  basic_store<null_lock, manual_clock> store(manual_clock{at(t0)},
                                             store_options{.job_duration_buckets = {0.5, 1e6}, .pull_duration_buckets = {}});
  auto h = store.add_handler({"H", "github", "o", ""});
  h.observe_job_duration(run_outcome::failed, 3s);
  h.observe_pull_duration(2s);
  const auto e = amt::scrape_openmetrics(store);
  CHECK(amt::find(e, "plugin_job_duration_seconds_bucket", {{"outcome", "failed"}, {"le", "0.5"}}) == 0);
  CHECK(amt::find(e, "plugin_job_duration_seconds_bucket", {{"outcome", "failed"}, {"le", "1e+06"}}) == 1);
  CHECK(amt::find(e, "plugin_pull_duration_seconds_bucket", {{"le", "+Inf"}}) == 1);

  histogram_counts counts;
  counts.reset(2);
  const double bounds[] = {1, 2};
  counts.observe(bounds, 1.5);
  detail::prometheus_label_sets tails;
  detail::histogram_le_tails(bounds, tails);
  std::string out;
  text_sink s(std::back_inserter(out));
  write_histogram_series(s, "bare", {}, {}, tails, counts);
  write_histogram_series(s, "only_extra", {}, ",x=\"1\"", tails, counts);
  CHECK(out ==
        "bare_bucket{le=\"1.0\"} 0\nbare_bucket{le=\"2.0\"} 1\nbare_bucket{le=\"+Inf\"} 1\nbare_sum 1.5\nbare_count 1\n"
        "only_extra_bucket{x=\"1\",le=\"1.0\"} 0\nonly_extra_bucket{x=\"1\",le=\"2.0\"} 1\n"
        "only_extra_bucket{x=\"1\",le=\"+Inf\"} 1\nonly_extra_sum{x=\"1\"} 1.5\nonly_extra_count{x=\"1\"} 1\n");
}

TEST_CASE("OpenMetrics: a solo receiver and an empty store are valid expositions") {
  CHECK(amt::parse_openmetrics(to_openmetrics(receiver_only_snapshot())).family("plugin_status") != nullptr);
  const amt::exposition empty = amt::parse_openmetrics(to_openmetrics(metrics_snapshot{}));
  CHECK(empty.family("host_cpu_count") != nullptr);
  CHECK(empty.family("plugin_status") == nullptr);
}
