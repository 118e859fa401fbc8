// anklet::metrics catalogue: every metric family and payload field, once. The writers
// (Prometheus, format=anklet, the JSON payload, the fleet renderers), the payload reader
// and the reference in docs/metrics.md all follow these tables, so that a new host figure
// is one line of host_fields (plus its member in host_metrics).
//
// Standard headers only (and model.hpp): including it costs no {fmt}.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "anklet/metrics/core/model.hpp"

namespace anklet::metrics::catalogue {

/// A family's Prometheus TYPE.
enum class family_type : std::uint8_t { gauge, counter, histogram };

[[nodiscard]] constexpr std::string_view to_string(family_type t) noexcept {
  switch (t) {
    case family_type::counter: return "counter";
    case family_type::histogram: return "histogram";
    case family_type::gauge: break;
  }
  return "gauge";
}

/// Which labels a family's series carry (docs/metrics.md lists them).
enum class label_set : std::uint8_t {
  none,          ///< one series per process or per answer
  plugin,        ///< name, plugin, owner and (when set) repo
  plugin_state,  ///< those and status: a state set
  plugin_run,    ///< those and, when asked for, job_url
  host,          ///< none from an exporter; name and owner in the fleet view
  reason,        ///< why keys were skipped (the aggregator's own)
  plugin_outcome,  ///< the plugin's labels and outcome (successful, failed, canceled)
  format_code,     ///< the format answered and the HTTP status code
  result,          ///< ok or failed
};

/// What every writer needs to know about one family.
struct family {
  std::string_view name;         ///< in Prometheus text and in format=anklet
  std::string_view help;         ///< Prometheus HELP, the same from the exporter and the fleet
  family_type type = family_type::gauge;
  std::string_view unit;         ///< "seconds", "bytes", "percent", "cores" or "" (a count)
  label_set labels = label_set::none;
  std::string_view payload_key;  ///< Go's key in the Redis JSON payload ("" when not there)
  std::string_view fleet_key;    ///< key in the aggregator's JSON entries ("" when not there)
};

/// A host figure: `count` or `share` points at its value in host_metrics.
struct host_field {
  family meta;
  std::uint64_t host_metrics::*count = nullptr;
  double host_metrics::*share = nullptr;
};

namespace detail {
constexpr host_field host_count(std::string_view name, std::string_view unit, std::uint64_t host_metrics::*m,
                                std::string_view help) {
  return {{name, help, family_type::gauge, unit, label_set::host, name, name}, m, nullptr};
}
constexpr host_field host_share(std::string_view name, double host_metrics::*m, std::string_view help) {
  return {{name, help, family_type::gauge, "percent", label_set::host, name, name}, nullptr, m};
}
}  // namespace detail

/// The 11 host figures (gopsutil equivalents), in the order of the text formats.
inline constexpr std::array<host_field, 11> host_fields{{
    detail::host_count("host_cpu_count", "cores", &host_metrics::cpu_count, "CPU cores of the host."),
    detail::host_count("host_cpu_used_count", "cores", &host_metrics::cpu_used_count,
                       "CPU cores in use (count times usage)."),
    detail::host_share("host_cpu_usage_percentage", &host_metrics::cpu_usage_percentage, "CPU busy share in percent."),
    detail::host_count("host_memory_total_bytes", "bytes", &host_metrics::memory_total_bytes, "Total memory in bytes."),
    detail::host_count("host_memory_used_bytes", "bytes", &host_metrics::memory_used_bytes, "Used memory in bytes."),
    detail::host_count("host_memory_available_bytes", "bytes", &host_metrics::memory_available_bytes,
                       "Available memory in bytes."),
    detail::host_share("host_memory_usage_percentage", &host_metrics::memory_usage_percentage,
                       "Used memory in percent."),
    detail::host_count("host_disk_total_bytes", "bytes", &host_metrics::disk_total_bytes,
                       "Size of the root file system in bytes."),
    detail::host_count("host_disk_used_bytes", "bytes", &host_metrics::disk_used_bytes,
                       "Used bytes of the root file system."),
    detail::host_count("host_disk_available_bytes", "bytes", &host_metrics::disk_available_bytes,
                       "Bytes available on the root file system."),
    detail::host_share("host_disk_usage_percentage", &host_metrics::disk_usage_percentage,
                       "Used share of the root file system in percent."),
}};

/// A process-wide run total. `Report` is the record that holds it: metrics_snapshot for
/// the exporter, host_report for the payload reader.
template <class Report>
struct total_field {
  family meta;
  std::uint64_t Report::*value = nullptr;
};

/// The four process totals, in the order of the text formats. Left out of both text
/// formats for a solo receiver.
template <class Report>
inline constexpr std::array<total_field<Report>, 4> process_totals{{
    {{"total_running_vms", "VMs running now.", family_type::gauge, "", label_set::none, "total_running_vms", ""},
     &Report::total_running_vms},
    {{"total_successful_runs_since_start", "Jobs that succeeded since the process started.", family_type::counter, "",
      label_set::none, "total_successful_runs_since_start", ""},
     &Report::total_successful_runs_since_start},
    {{"total_failed_runs_since_start", "Jobs that failed since the process started.", family_type::counter, "",
      label_set::none, "total_failed_runs_since_start", ""},
     &Report::total_failed_runs_since_start},
    {{"total_canceled_runs_since_start", "Jobs that were canceled since the process started.", family_type::counter,
      "", label_set::none, "total_canceled_runs_since_start", ""},
     &Report::total_canceled_runs_since_start},
}};

/// A per-plugin family. `Plugin` is the record: plugin_metrics for the exporter,
/// reported_plugin for the payload reader and the fleet. Exactly one of `time` and
/// `count` is set, except for plugin_status, whose value is the status itself.
template <class Plugin>
struct plugin_family {
  family meta;
  bool handlers_only = false;  ///< receivers have no such series
  bool run_total = false;      ///< left out of the exporter's text for a solo receiver
  decltype(Plugin::status_since) Plugin::*time = nullptr;
  std::uint64_t Plugin::*count = nullptr;
  std::string Plugin::*job_url = nullptr;  ///< the job URL of a last-run family
  std::string_view job_url_payload_key;    ///< Go's payload key of that URL
  std::string_view job_url_fleet_key;      ///< its key in the aggregator's JSON entries
  /// A run counter's latest run, its OpenMetrics exemplar: the job URL and its time.
  std::string Plugin::*exemplar_url = nullptr;
  decltype(Plugin::status_since) Plugin::*exemplar_time = nullptr;
};

namespace detail {
// Members are set one by one: a braced list would have to spell out every field.
template <class P>
constexpr plugin_family<P> plugin_status_family(std::string_view help) {
  plugin_family<P> f;
  f.meta = {"plugin_status", help, family_type::gauge, "", label_set::plugin_state, "Status", "plugin_status"};
  return f;
}
template <class P>
constexpr plugin_family<P> plugin_time(std::string_view name, std::string_view payload_key,
                                       decltype(P::status_since) P::*m, std::string_view help) {
  plugin_family<P> f;
  f.meta = {name, help, family_type::gauge, "seconds", label_set::plugin, payload_key, name};
  f.time = m;
  return f;
}
template <class P>
constexpr plugin_family<P> plugin_run(std::string_view name, std::string_view payload_key,
                                      decltype(P::status_since) P::*m, std::string P::*url,
                                      std::string_view url_payload_key, std::string_view url_fleet_key,
                                      std::string_view help) {
  plugin_family<P> f = plugin_time<P>(name, payload_key, m, help);
  f.meta.labels = label_set::plugin_run;
  f.handlers_only = true;
  f.job_url = url;
  f.job_url_payload_key = url_payload_key;
  f.job_url_fleet_key = url_fleet_key;
  return f;
}
template <class P>
constexpr plugin_family<P> plugin_total(std::string_view name, std::string_view payload_key, std::uint64_t P::*m,
                                        std::string_view help) {
  plugin_family<P> f;
  f.meta = {name, help, family_type::counter, "", label_set::plugin, payload_key, name};
  f.handlers_only = true;
  f.run_total = true;
  f.count = m;
  return f;
}
template <class P>
constexpr plugin_family<P> plugin_runs(std::string_view name, std::string_view payload_key, std::uint64_t P::*m,
                                       std::string P::*url, decltype(P::status_since) P::*time, std::string_view help) {
  plugin_family<P> f = plugin_total<P>(name, payload_key, m, help);
  f.exemplar_url = url;
  f.exemplar_time = time;
  return f;
}
}  // namespace detail

/// The per-plugin families in the order of the exporter's Prometheus text: plugin_status
/// first (index 0), then status_since, the three last runs and the four plugin totals.
template <class P>
inline constexpr std::array<plugin_family<P>, 9> plugin_families{{
    detail::plugin_status_family<P>("Plugin status as a state set: 1 for the current status."),
    detail::plugin_time<P>("plugin_status_since", "StatusSince", &P::status_since,
                           "Unix time of the last status change (0 = never)."),
    detail::plugin_run<P>("plugin_last_successful_run", "LastSuccessfulRun", &P::last_successful_run,
                          &P::last_successful_run_job_url, "LastSuccessfulRunJobUrl",
                          "plugin_last_successful_run_job_url", "Unix time of the last successful run (0 = never)."),
    detail::plugin_run<P>("plugin_last_failed_run", "LastFailedRun", &P::last_failed_run, &P::last_failed_run_job_url,
                          "LastFailedRunJobUrl", "plugin_last_failed_run_job_url",
                          "Unix time of the last failed run (0 = never)."),
    detail::plugin_run<P>("plugin_last_canceled_run", "LastCanceledRun", &P::last_canceled_run,
                          &P::last_canceled_run_job_url, "LastCanceledRunJobUrl", "plugin_last_canceled_run_job_url",
                          "Unix time of the last canceled run (0 = never)."),
    detail::plugin_total<P>("plugin_total_ran_vms", "TotalRanVMs", &P::total_ran_vms,
                            "VMs this handler started since the process started."),
    detail::plugin_runs<P>("plugin_total_successful_runs_since_start", "TotalSuccessfulRunsSinceStart",
                           &P::total_successful_runs_since_start, &P::last_successful_run_job_url,
                           &P::last_successful_run, "Jobs this handler ran successfully since start."),
    detail::plugin_runs<P>("plugin_total_failed_runs_since_start", "TotalFailedRunsSinceStart",
                           &P::total_failed_runs_since_start, &P::last_failed_run_job_url, &P::last_failed_run,
                           "Jobs of this handler that failed since start."),
    detail::plugin_runs<P>("plugin_total_canceled_runs_since_start", "TotalCanceledRunsSinceStart",
                           &P::total_canceled_runs_since_start, &P::last_canceled_run_job_url, &P::last_canceled_run,
                           "Jobs of this handler that were canceled since start."),
}};

/// The exporter's histograms, after the per-plugin families (handlers of a store only).
inline constexpr family plugin_job_duration{
    "plugin_job_duration_seconds", "Seconds from in_progress to the end of each run, by outcome.",
    family_type::histogram, "seconds", label_set::plugin_outcome, "", ""};
inline constexpr family plugin_pull_duration{"plugin_pull_duration_seconds",
                                             "Seconds each handler spent pulling a VM template.",
                                             family_type::histogram, "seconds", label_set::plugin, "", ""};
inline constexpr std::array<family, 2> plugin_histograms{plugin_job_duration, plugin_pull_duration};

/// The prefix of every family that describes the library's own work rather than the CI
/// host: scrapes served, Redis writes, the aggregator's reads.
inline constexpr std::string_view self_prefix = "anklet_metrics_";

/// The exporter's own families, after the host figures: the HTTP server's answers (every
/// metrics server) and the Redis writer's (redis/writer_metrics.hpp, where a program adds it).
inline constexpr family self_scrapes{"anklet_metrics_scrapes_total",
                                     "Answers to /metrics/v1, by format and HTTP status code.", family_type::counter,
                                     "", label_set::format_code, "", ""};
inline constexpr family self_redis_writes{"anklet_metrics_redis_writes_total", "Redis exports, by result.",
                                          family_type::counter, "", label_set::result, "", ""};
inline constexpr family self_redis_last_success{"anklet_metrics_redis_last_success_timestamp_seconds",
                                                "Unix time of the last good Redis export (0 = never).",
                                                family_type::gauge, "seconds", label_set::none, "", ""};
inline constexpr family self_redis_failures{"anklet_metrics_redis_consecutive_failures",
                                            "Redis exports that failed since the last good one.", family_type::gauge,
                                            "", label_set::none, "", ""};
inline constexpr std::array<family, 4> exporter_self_families{self_scrapes, self_redis_writes, self_redis_last_success,
                                                              self_redis_failures};

/// The families only the fleet aggregator writes, after the per-plugin and host families.
inline constexpr family fleet_last_update{"last_update", "Unix time of the host's last export (0 = never).",
                                          family_type::gauge, "seconds", label_set::host, "last_update",
                                          "last_update"};
inline constexpr family fleet_hosts{"anklet_metrics_aggregator_hosts", "Host keys read in this answer.",
                                    family_type::gauge, "", label_set::none, "", ""};
inline constexpr family fleet_scan_complete{"anklet_metrics_aggregator_scan_complete",
                                            "1 when the read's SCAN went round, 0 when a bound ended it early.",
                                            family_type::gauge, "", label_set::none, "", ""};
inline constexpr family fleet_skipped_keys{"anklet_metrics_aggregator_skipped_keys",
                                           "Keys left out of this answer, by reason (docs/reliability.md).",
                                           family_type::gauge, "", label_set::reason, "", ""};
inline constexpr family fleet_read_duration{"anklet_metrics_aggregator_read_duration_seconds",
                                            "Seconds the read this answer was made from took.", family_type::gauge,
                                            "seconds", label_set::none, "", ""};
/// Written after the cached body, since they change with every request.
inline constexpr family fleet_age{"anklet_metrics_aggregator_fleet_age_seconds",
                                  "Seconds since the read this answer was made from.", family_type::gauge, "seconds",
                                  label_set::none, "", ""};
inline constexpr family fleet_read_failures{"anklet_metrics_aggregator_consecutive_read_failures",
                                            "Background reads of Redis that failed since the last good one.",
                                            family_type::gauge, "", label_set::none, "", ""};
inline constexpr std::array<family, 7> fleet_families{fleet_last_update, fleet_hosts,        fleet_scan_complete,
                                                      fleet_skipped_keys, fleet_read_duration, fleet_age,
                                                      fleet_read_failures};

/// The indices of `table` ordered by payload key: Go's encoding/json writes a map's keys
/// in byte order, and so does our JSON writer.
template <class Field, std::size_t N>
[[nodiscard]] constexpr std::array<std::size_t, N> payload_key_order(const std::array<Field, N>& table) noexcept {
  std::array<std::size_t, N> order{};
  for (std::size_t i = 0; i < N; ++i) order[i] = i;
  for (std::size_t i = 1; i < N; ++i) {  // insertion sort: constexpr and tiny
    for (std::size_t j = i; j > 0 && table[order[j]].meta.payload_key < table[order[j - 1]].meta.payload_key; --j) {
      const std::size_t t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  }
  return order;
}

/// The host field whose payload key is `key`, or nullptr.
[[nodiscard]] constexpr const host_field* find_host_field(std::string_view key) noexcept {
  for (const auto& f : host_fields) {
    if (f.meta.payload_key == key) return &f;
  }
  return nullptr;
}

}  // namespace anklet::metrics::catalogue
