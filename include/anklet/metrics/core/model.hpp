// anklet::metrics data model: plain values that the store fills and the renderers read.
// Nothing here locks; a metrics_snapshot is an owned copy, safe to read on any thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "anklet/metrics/core/status.hpp"
#include "anklet/metrics/core/time.hpp"

namespace anklet::metrics {

/// Receivers queue CI events (Go's PluginBase); handlers run jobs in VMs (Go's Plugin)
/// and carry run times, job URLs and counters besides.
enum class plugin_kind : std::uint8_t { receiver, handler };

/// What identifies a plugin when it registers.
struct plugin_info {
  std::string name;         ///< unique key, e.g. "RUNNER1"
  std::string plugin_name;  ///< e.g. "github" or "github_receiver"
  std::string owner_name;
  std::string repo_name;    ///< may be empty
};

/// What only handlers carry: the job URLs and times of their last runs and their run
/// counters. One definition for a plugin's metrics and for a merge into them (store.hpp's
/// plugin_update), so the two cannot drift.
struct handler_fields {
  std::string last_successful_run_job_url;
  std::string last_failed_run_job_url;
  std::string last_canceled_run_job_url;
  time_point last_successful_run = never;
  time_point last_failed_run = never;
  time_point last_canceled_run = never;
  std::uint64_t total_ran_vms = 0;
  std::uint64_t total_successful_runs_since_start = 0;
  std::uint64_t total_failed_runs_since_start = 0;
  std::uint64_t total_canceled_runs_since_start = 0;

  friend bool operator==(const handler_fields&, const handler_fields&) = default;
};

/// One plugin's metrics. Handler-only fields (handler_fields) stay at their zero values for
/// receivers.
struct plugin_metrics : handler_fields {
  plugin_kind kind = plugin_kind::handler;
  std::string name;
  std::string plugin_name;
  std::string repo_name;
  std::string owner_name;
  plugin_status status = plugin_status::idle;
  time_point status_since = never;

  [[nodiscard]] bool is_handler() const noexcept { return kind == plugin_kind::handler; }
  friend bool operator==(const plugin_metrics&, const plugin_metrics&) = default;
};

/// The host figures Anklet reports (gopsutil equivalents). A source that failed leaves
/// its fields at zero.
struct host_metrics {
  std::uint64_t cpu_count = 0;
  std::uint64_t cpu_used_count = 0;
  double cpu_usage_percentage = 0;
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t memory_used_bytes = 0;
  std::uint64_t memory_available_bytes = 0;
  double memory_usage_percentage = 0;
  std::uint64_t disk_total_bytes = 0;
  std::uint64_t disk_used_bytes = 0;
  std::uint64_t disk_available_bytes = 0;
  double disk_usage_percentage = 0;

  friend bool operator==(const host_metrics&, const host_metrics&) = default;
};

/// Everything one process reports (Go's MetricsData), plugins in registration order.
struct metrics_snapshot {
  time_point last_update = never;
  std::uint64_t total_running_vms = 0;
  std::uint64_t total_successful_runs_since_start = 0;
  std::uint64_t total_failed_runs_since_start = 0;
  std::uint64_t total_canceled_runs_since_start = 0;
  host_metrics host;
  std::vector<plugin_metrics> plugins;

  /// Anklet's "solo receiver": every registered plugin is a receiver (and there is at
  /// least one). The global and per-plugin run totals are then left out of the text formats.
  [[nodiscard]] bool solo_receiver() const noexcept {
    return !plugins.empty() &&
           std::all_of(plugins.begin(), plugins.end(), [](const plugin_metrics& p) { return !p.is_handler(); });
  }
  friend bool operator==(const metrics_snapshot&, const metrics_snapshot&) = default;
};

}  // namespace anklet::metrics
