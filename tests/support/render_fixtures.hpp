// Snapshots shared by the renderer tests, the promtool check and the locale runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/store.hpp"

namespace anklet_test {

using namespace anklet::metrics;

inline time_point at(std::int64_t unix_seconds, std::int64_t nanoseconds = 0) {
  return time_point{std::chrono::seconds{unix_seconds}} + std::chrono::nanoseconds{nanoseconds};
}

// 2024-01-15T10:30:00Z
inline constexpr std::int64_t t0 = 1705314600;

// A handler with a repo and run history, a handler without a repo whose labels need
// escaping and whose times were never set, and a receiver.
inline metrics_snapshot mixed_snapshot() {
  metrics_snapshot m;
  m.last_update = at(t0, 500000000);
  m.total_running_vms = 1;
  m.total_successful_runs_since_start = 40;
  m.total_failed_runs_since_start = 2;
  m.total_canceled_runs_since_start = 3;

  plugin_metrics a;
  a.kind = plugin_kind::handler;
  a.name = "RUNNER1";
  a.plugin_name = "github";
  a.owner_name = "veertuinc";
  a.repo_name = "anklet";
  a.status = plugin_status::in_progress;
  a.status_since = at(t0);
  a.last_successful_run = at(t0 - 3600, 123456789);
  a.last_successful_run_job_url = "https://github.com/veertuinc/anklet/actions/runs/1?a=1&b=<2>";
  a.last_failed_run = at(t0 - 7200);
  a.last_failed_run_job_url = "https://github.com/veertuinc/anklet/actions/runs/2";
  a.total_ran_vms = 42;
  a.total_successful_runs_since_start = 40;
  a.total_failed_runs_since_start = 2;
  a.total_canceled_runs_since_start = 0;
  m.plugins.push_back(a);

  plugin_metrics b;
  b.kind = plugin_kind::handler;
  b.name = "Zürich";
  b.plugin_name = "github";
  b.owner_name = "o\"w\\n\ner";
  b.status = plugin_status::paused;
  b.status_since = never;
  b.total_canceled_runs_since_start = 3;
  m.plugins.push_back(b);

  plugin_metrics r;
  r.kind = plugin_kind::receiver;
  r.name = "RECEIVER1";
  r.plugin_name = "github_receiver";
  r.owner_name = "veertuinc";
  r.status = plugin_status::idle;
  r.status_since = at(t0 + 60, 1000);
  m.plugins.push_back(r);

  m.host.cpu_count = 8;
  m.host.cpu_used_count = 1;
  m.host.cpu_usage_percentage = 12.371134020618557;
  m.host.memory_total_bytes = 17179869184;
  m.host.memory_used_bytes = 8589934592;
  m.host.memory_available_bytes = 8589934592;
  m.host.memory_usage_percentage = 50;
  m.host.disk_total_bytes = 500000000000;
  m.host.disk_used_bytes = 125000000000;
  m.host.disk_available_bytes = 375000000000;
  m.host.disk_usage_percentage = 25.5;
  return m;
}

// Only receivers: Anklet's "solo receiver", where run totals are left out.
inline metrics_snapshot receiver_only_snapshot() {
  metrics_snapshot m;
  m.last_update = at(t0);
  plugin_metrics r;
  r.kind = plugin_kind::receiver;
  r.name = "RECEIVER1";
  r.plugin_name = "github_receiver";
  r.owner_name = "veertuinc";
  r.repo_name = "anklet";
  r.status = plugin_status::running;
  r.status_since = at(t0);
  m.plugins.push_back(r);
  m.host.cpu_count = 4;
  m.host.cpu_usage_percentage = 0.1;
  return m;
}

// mixed_snapshot and a handler made by a store, "RUNNER2", whose job and pull histograms
// saw a run of each outcome and one pull (the store's default buckets).
inline metrics_snapshot mixed_snapshot_with_histograms() {
  using namespace std::chrono_literals;
  basic_store<null_lock, manual_clock> store{manual_clock{at(t0)}};
  auto h = store.add_handler({"RUNNER2", "github", "veertuinc", "anklet"});
  h.set_status(plugin_status::pulling);
  store.clock().advance(42s);
  h.set_status(plugin_status::running);
  for (const auto& [outcome, seconds] : {std::pair{run_outcome::successful, 95}, std::pair{run_outcome::failed, 4000},
                                         std::pair{run_outcome::canceled, 7}}) {
    h.set_status(plugin_status::in_progress);
    store.clock().advance(std::chrono::seconds(seconds));
    h.finish_run(outcome, "https://github.com/veertuinc/anklet/actions/runs/" + std::to_string(seconds));
  }
  metrics_snapshot m = mixed_snapshot();
  const metrics_snapshot ran = store.snapshot();
  m.job_duration_buckets = ran.job_duration_buckets;
  m.pull_duration_buckets = ran.pull_duration_buckets;
  m.plugins.insert(m.plugins.begin() + 1, ran.plugins.front());
  return m;
}

}  // namespace anklet_test
