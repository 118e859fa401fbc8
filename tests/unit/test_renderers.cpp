// Golden outputs of the three renderers, and their output-iterator plumbing.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "anklet/metrics/render/anklet_text.hpp"
#include "anklet/metrics/render/json.hpp"
#include "anklet/metrics/render/openmetrics.hpp"
#include "anklet/metrics/render/prometheus.hpp"
#include "render_fixtures.hpp"
#include "render_goldens.hpp"
#include "tz_guard.hpp"

using namespace anklet::metrics;
using namespace anklet_test;

namespace {

constexpr anklet_text_options text_utc{time_zone::utc};
constexpr json_options json_utc{time_zone::utc};

// Every line that starts with `prefix`, in order.
std::vector<std::string> lines_starting_with(const std::string& text, std::string_view prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (std::string_view(line).substr(0, prefix.size()) == prefix) out.push_back(line);
  }
  return out;
}

}  // namespace

TEST_CASE("Anklet text: handler with repo, handler without repo, receiver") {
  CHECK(to_anklet_text(mixed_snapshot(), text_utc) == mixed_anklet_text_utc);
}

TEST_CASE("Anklet text: a solo receiver has no totals and no per-plugin totals") {
  CHECK(to_anklet_text(receiver_only_snapshot(), text_utc) == receiver_only_anklet_text_utc);
}

TEST_CASE("Anklet text: the name decides receiver lines, as in Go") {
  // A handler whose plugin name says receiver loses its last-run and total lines; a
  // receiver whose name does not gets them (with zero values), exactly as Go prints.
  metrics_snapshot m;
  plugin_metrics odd_handler;
  odd_handler.kind = plugin_kind::handler;
  odd_handler.name = "H";
  odd_handler.plugin_name = "x_receiver";
  odd_handler.owner_name = "o";
  odd_handler.status_since = at(t0);
  m.plugins.push_back(odd_handler);
  plugin_metrics odd_receiver;
  odd_receiver.kind = plugin_kind::receiver;
  odd_receiver.name = "R";
  odd_receiver.plugin_name = "custom";
  odd_receiver.owner_name = "o";
  odd_receiver.status_since = at(t0);
  m.plugins.push_back(odd_receiver);
  const std::string text = to_anklet_text(m, text_utc);
  const auto expected_head =
      "total_running_vms 0\n"
      "total_successful_runs_since_start 0\n"
      "total_failed_runs_since_start 0\n"
      "total_canceled_runs_since_start 0\n"
      "plugin_status{name=H,plugin=x_receiver,owner=o} idle\n"
      "plugin_status_since{name=H,plugin=x_receiver,owner=o} 2024-01-15T10:30:00Z\n"
      "plugin_status{name=R,plugin=custom,owner=o} idle\n"
      "plugin_last_successful_run{name=R,plugin=custom,owner=o,job_url=} 0001-01-01T00:00:00Z\n"
      "plugin_last_failed_run{name=R,plugin=custom,owner=o,job_url=} 0001-01-01T00:00:00Z\n"
      "plugin_last_canceled_run{name=R,plugin=custom,owner=o,job_url=} 0001-01-01T00:00:00Z\n"
      "plugin_status_since{name=R,plugin=custom,owner=o} 2024-01-15T10:30:00Z\n"
      "plugin_total_ran_vms{name=R,plugin=custom,owner=o} 0\n"
      "plugin_total_successful_runs_since_start{name=R,plugin=custom,owner=o} 0\n"
      "plugin_total_failed_runs_since_start{name=R,plugin=custom,owner=o} 0\n"
      "plugin_total_canceled_runs_since_start{name=R,plugin=custom,owner=o} 0\n"
      "host_cpu_count 0\n";
  CHECK(text.substr(0, std::string_view(expected_head).size()) == expected_head);
}

TEST_CASE("Anklet text: one name rule decides both the per-plugin lines and solo receiver") {
  // Alone, a receiver registered with plugin name `github` is no receiver to Go: the
  // four totals and its plugin_total_* lines are printed (with zeros).
  metrics_snapshot m;
  plugin_metrics r;
  r.kind = plugin_kind::receiver;
  r.name = "R";
  r.plugin_name = "github";
  r.owner_name = "o";
  m.plugins.push_back(r);
  const std::string text = to_anklet_text(m, text_utc);
  CHECK(text.rfind("total_running_vms 0\n", 0) == 0);
  CHECK(text.find("plugin_total_ran_vms{name=R,plugin=github,owner=o} 0\n") != std::string::npos);
  CHECK(text.find("plugin_last_failed_run{name=R,plugin=github,owner=o,job_url=} 0001-01-01T00:00:00Z\n") !=
        std::string::npos);
  // Alone, a handler whose plugin name contains `_receiver` is a solo receiver: no totals.
  m.plugins[0].kind = plugin_kind::handler;
  m.plugins[0].plugin_name = "github_receiver";
  const std::string solo = to_anklet_text(m, text_utc);
  CHECK(solo.rfind("plugin_status{name=R,plugin=github_receiver,owner=o} idle\n", 0) == 0);
  CHECK(solo.find("total_running_vms") == std::string::npos);
  CHECK(solo.find("plugin_total_") == std::string::npos);
}

TEST_CASE("Anklet text: local time by default, with the offset") {
  tz_guard tz("UTC-2");
  const std::string text = to_anklet_text(mixed_snapshot());
  CHECK(lines_starting_with(text, "plugin_status_since{name=RUNNER1") ==
        std::vector<std::string>{
            "plugin_status_since{name=RUNNER1,plugin=github,owner=veertuinc,repo=anklet} 2024-01-15T12:30:00+02:00"});
  CHECK(lines_starting_with(text, "plugin_last_successful_run{name=RUNNER1") ==
        std::vector<std::string>{"plugin_last_successful_run{name=RUNNER1,plugin=github,owner=veertuinc,repo=anklet,"
                                 "job_url=https://github.com/veertuinc/anklet/actions/runs/1?a=1&b=<2>} "
                                 "2024-01-15T11:30:00+02:00"});
  // never stays Go's zero time, which is in UTC.
  CHECK(lines_starting_with(text, "plugin_last_canceled_run{name=RUNNER1") ==
        std::vector<std::string>{"plugin_last_canceled_run{name=RUNNER1,plugin=github,owner=veertuinc,repo=anklet,"
                                 "job_url=} 0001-01-01T00:00:00Z"});
}

TEST_CASE("Prometheus: handler with repo, handler without repo, receiver") {
  CHECK(to_prometheus(mixed_snapshot()) == mixed_prometheus);
}

TEST_CASE("Prometheus and OpenMetrics: the label sets a store keeps write the same text, and only while they match") {
  metrics_snapshot kept = mixed_snapshot();
  for (auto& p : kept.plugins) p.label_text.assign(p.name, p.plugin_name, p.owner_name, p.repo_name);
  CHECK(to_prometheus(kept) == mixed_prometheus);
  CHECK(to_openmetrics(kept) == to_openmetrics(mixed_snapshot()));
  CHECK(to_openmetrics(kept, {.job_url_label = true}) == to_openmetrics(mixed_snapshot(), {.job_url_label = true}));

  // Fields changed after the text was made: same size, other size, repo dropped.
  kept.plugins[0].name = "RUNNER9";
  kept.plugins[2].owner_name = "someone-else";
  metrics_snapshot expected = mixed_snapshot();
  expected.plugins[0].name = "RUNNER9";
  expected.plugins[2].owner_name = "someone-else";
  CHECK(to_prometheus(kept) == to_prometheus(expected));
  CHECK(to_prometheus(kept).find("RUNNER1") == std::string::npos);
  kept.plugins[0].repo_name.clear();
  expected.plugins[0].repo_name.clear();
  CHECK(to_prometheus(kept) == to_prometheus(expected));
}

TEST_CASE("Prometheus and OpenMetrics: a kept state set writes the same lines for every status") {
  metrics_snapshot kept = mixed_snapshot();
  for (auto& p : kept.plugins) p.label_text.assign(p.name, p.plugin_name, p.owner_name, p.repo_name);
  REQUIRE_FALSE(kept.plugins[0].label_text.state_set().empty());
  metrics_snapshot written = mixed_snapshot();
  std::vector<plugin_status> statuses(all_statuses.begin(), all_statuses.end());
  statuses.push_back(static_cast<plugin_status>(200));  // no status of the enum: every line at 0
  for (const auto status : statuses) {
    CAPTURE(static_cast<int>(status));
    for (auto* m : {&kept, &written}) {
      for (auto& p : m->plugins) p.status = status;
    }
    const std::string text = to_prometheus(kept);
    CHECK(text == to_prometheus(written));
    CHECK(to_openmetrics(kept) == to_openmetrics(written));
    const auto ones = lines_starting_with(text, "plugin_status{name=\"RUNNER1\"");
    CHECK(std::count_if(ones.begin(), ones.end(), [](const std::string& l) { return l.ends_with("} 1"); }) ==
          (status == statuses.back() ? 0 : 1));
  }
}

TEST_CASE("Prometheus: job_url only when asked for, on the three last-run families") {
  const std::string plain = to_prometheus(mixed_snapshot());
  CHECK(plain.find("job_url") == std::string::npos);
  const std::string with = to_prometheus(mixed_snapshot(), {.job_url_label = true});
  CHECK(with.find("plugin_last_successful_run{name=\"RUNNER1\",plugin=\"github\",owner=\"veertuinc\",repo=\"anklet\","
                  "job_url=\"https://github.com/veertuinc/anklet/actions/runs/1?a=1&b=<2>\"} 1705311000\n") !=
        std::string::npos);
  CHECK(with.find("plugin_last_canceled_run{name=\"Zürich\",plugin=\"github\",owner=\"o\\\"w\\\\n\\ner\",job_url=\"\"} 0\n") !=
        std::string::npos);
  std::size_t lines_with_url = 0;
  for (std::size_t at = with.find("job_url="); at != std::string::npos; at = with.find("job_url=", at + 1)) ++lines_with_url;
  CHECK(lines_with_url == 6);  // three families, two handlers
}

TEST_CASE("Prometheus: a solo receiver has no totals and no handler families") {
  CHECK(to_prometheus(receiver_only_snapshot()) == receiver_only_prometheus);
}

TEST_CASE("Prometheus: every family is announced once and its samples are contiguous") {
  const std::string text = to_prometheus(mixed_snapshot());
  std::vector<std::string> seen;
  std::string current;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      current = line.substr(7, line.find(' ', 7) - 7);
      CHECK(std::find(seen.begin(), seen.end(), current) == seen.end());
      seen.push_back(current);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      CHECK(line.substr(7, current.size() + 1) == current + " ");
      continue;
    }
    const auto name_end = line.find_first_of("{ ");
    REQUIRE(name_end != std::string::npos);
    CHECK(line.substr(0, name_end) == current);
  }
  CHECK(seen.size() == 4 + 1 + 1 + 3 + 4 + 11);
}

TEST_CASE("Prometheus: no plugins at all still gives valid totals and host values") {
  metrics_snapshot m;
  const std::string text = to_prometheus(m);
  CHECK(text.find("total_running_vms 0\n") != std::string::npos);
  CHECK(text.find("plugin_") == std::string::npos);
  CHECK(text.find("host_disk_usage_percentage 0\n") != std::string::npos);
}

TEST_CASE("JSON: Go's payload for handlers with and without repo and a receiver") {
  CHECK(to_json(mixed_snapshot(), json_utc) == mixed_json_utc);
}

TEST_CASE("JSON: local time carries the offset and the fraction") {
  tz_guard tz("UTC-2");
  const std::string text = to_json(mixed_snapshot());
  CHECK(text.find(R"(,"last_update":"2024-01-15T12:30:00.5+02:00",)") != std::string::npos);
  CHECK(text.find(R"("LastSuccessfulRun":"2024-01-15T11:30:00.123456789+02:00")") != std::string::npos);
  CHECK(text.find(R"("LastCanceledRun":"0001-01-01T00:00:00Z")") != std::string::npos);
}

TEST_CASE("all renderers write the same bytes through every kind of output iterator") {
  const auto m = mixed_snapshot();
  const std::string prom = to_prometheus(m);
  const std::string text = to_anklet_text(m, text_utc);
  const std::string json = to_json(m, json_utc);

  fmt::memory_buffer buf;
  format_prometheus(m, std::back_inserter(buf));
  CHECK(fmt::to_string(buf) == prom);
  buf.clear();
  format_anklet_text(m, fmt::appender(buf), text_utc);
  CHECK(fmt::to_string(buf) == text);
  buf.clear();
  format_json(m, std::back_inserter(buf), json_utc);
  CHECK(fmt::to_string(buf) == json);

  std::vector<char> v;
  format_json(m, std::back_inserter(v), json_utc);
  CHECK(std::string(v.begin(), v.end()) == json);

  std::ostringstream os;
  format_prometheus(m, std::ostreambuf_iterator<char>(os));
  CHECK(os.str() == prom);

  std::string appended = "prefix:";
  format_anklet_text(m, std::back_inserter(appended), text_utc);
  CHECK(appended == "prefix:" + text);

  std::vector<char> raw(prom.size() + 16, '\0');
  char* end = format_prometheus(m, raw.data());
  CHECK(std::string(raw.data(), end) == prom);
}

TEST_CASE("the in-place and the iterator paths agree on large outputs") {
  auto m = mixed_snapshot();
  for (int i = 0; i < 300; ++i) {
    auto p = m.plugins[static_cast<std::size_t>(i % 3)];
    p.name.append(1, '-').append(std::to_string(i));
    p.total_ran_vms = static_cast<std::uint64_t>(i) * 1000003u;
    m.plugins.push_back(p);
  }
  const auto through_stream = [](auto format) {
    std::ostringstream os;
    format(std::ostreambuf_iterator<char>(os));
    return os.str();
  };
  std::string prom = "head";
  format_prometheus(m, std::back_inserter(prom));
  CHECK(prom == "head" + through_stream([&](auto out) { format_prometheus(m, out); }));
  CHECK(prom.size() > 100000);
  std::string text;
  format_anklet_text(m, std::back_inserter(text), text_utc);
  CHECK(text == through_stream([&](auto out) { format_anklet_text(m, out, text_utc); }));
  std::vector<char> json;
  format_json(m, std::back_inserter(json), json_utc);
  CHECK(std::string(json.begin(), json.end()) == through_stream([&](auto out) { format_json(m, out, json_utc); }));
}

TEST_CASE("content types") {
  CHECK(prometheus_content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(json_content_type == "application/json");
}
