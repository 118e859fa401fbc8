// anklet::metrics Prometheus renderer: text exposition format 0.0.4 over a snapshot.
//
// Go Anklet's own "prometheus" text is not valid exposition (unquoted label values,
// strings as sample values); this one keeps Anklet's metric and label names and makes
// them valid: every family has HELP and TYPE and contiguous samples, label values are
// quoted and escaped, plugin_status is a state set, times are Unix seconds (0 = never).
// `promtool check metrics` accepts it; its only remarks are naming lints on Anklet's
// names (counters without `_total`, and host_cpu_count / host_cpu_used_count).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>

#include "anklet/metrics/model.hpp"
#include "anklet/metrics/render_common.hpp"

namespace anklet::metrics {

/// The Content-Type of format_prometheus' output.
inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Options of the Prometheus renderers (the exporter's and the aggregator's).
struct prometheus_options {
  /// Adds Anklet's `job_url` label to plugin_last_successful_run, plugin_last_failed_run
  /// and plugin_last_canceled_run. Off by default: a label whose value changes with every
  /// job makes a new series per job in the scraper's database, without bound. The job URLs
  /// stay in the JSON payload and in format=anklet either way.
  bool job_url_label = false;
};

namespace detail {

// name, plugin, owner and (when set) repo, comma separated. Any plugin record with those
// four fields: the store's plugin_metrics and the aggregator's reported_plugin.
template <char_sink Sink, class Plugin>
void write_plugin_prometheus_labels(Sink& s, const Plugin& p) {
  write_prometheus_label(s, "name", p.name);
  s.put(',');
  write_prometheus_label(s, "plugin", p.plugin_name);
  s.put(',');
  write_prometheus_label(s, "owner", p.owner_name);
  if (!p.repo_name.empty()) {
    s.put(',');
    write_prometheus_label(s, "repo", p.repo_name);
  }
}

template <char_sink Sink>
void write_prometheus_scalar(Sink& s, std::string_view name, std::string_view help,
                             std::string_view type, std::uint64_t v) {
  write_prometheus_family_header(s, name, help, type);
  s.write(name);
  s.put(' ');
  write_uint(s, v);
  s.put('\n');
}

template <char_sink Sink>
void write_prometheus_scalar(Sink& s, std::string_view name, std::string_view help, double v) {
  write_prometheus_family_header(s, name, help, "gauge");
  s.write(name);
  s.put(' ');
  write_prometheus_double(s, v);
  s.put('\n');
}

// One family with a sample per selected plugin (header only when there is one).
// `value(p)` gives a signed or unsigned integer; `job_url(p)`, unless nullptr, adds the
// job_url label when `with_job_url` is set.
template <char_sink Sink, class Select, class Value, class JobUrl>
void write_prometheus_plugin_family(Sink& s, const metrics_snapshot& m, const prometheus_label_sets& labels,
                                    std::string_view name, std::string_view help, std::string_view type,
                                    Select select, Value value, JobUrl job_url, bool with_job_url = false) {
  bool any = false;
  for (std::size_t i = 0; i < m.plugins.size(); ++i) {
    const auto& p = m.plugins[i];
    if (!select(p)) continue;
    if (!any) {
      write_prometheus_family_header(s, name, help, type);
      any = true;
    }
    s.write(name);
    s.put('{');
    s.write(labels[i]);
    if constexpr (!std::is_same_v<JobUrl, std::nullptr_t>) {
      if (with_job_url) {
        s.write(",job_url=\"");
        write_prometheus_label_value(s, job_url(p));
        s.write("\"} ");
      } else {
        s.write("} ");
      }
    } else {
      s.write("} ");
    }
    const auto v = value(p);
    if constexpr (std::is_signed_v<decltype(v)>) {
      write_int(s, v);
    } else {
      write_uint(s, v);
    }
    s.put('\n');
  }
}

}  // namespace detail

/// Writes the snapshot as Prometheus text exposition 0.0.4 to a sink. Families, in
/// order: the four process totals (left out for a solo receiver), plugin_status,
/// plugin_status_since, the three plugin_last_*_run (handlers), the four plugin_total_*
/// (handlers, not for a solo receiver), the 11 host_*. Allocates once per render for
/// the escaped label sets, never per line.
template <char_sink Sink>
void write_prometheus(Sink& s, const metrics_snapshot& m, const prometheus_options& options = {}) {
  const bool solo = m.solo_receiver();
  if (!solo) {
    detail::write_prometheus_scalar(s, "total_running_vms", "VMs running now.", "gauge", m.total_running_vms);
    detail::write_prometheus_scalar(s, "total_successful_runs_since_start",
                                    "Jobs that succeeded since the process started.", "counter",
                                    m.total_successful_runs_since_start);
    detail::write_prometheus_scalar(s, "total_failed_runs_since_start", "Jobs that failed since the process started.",
                                    "counter", m.total_failed_runs_since_start);
    detail::write_prometheus_scalar(s, "total_canceled_runs_since_start",
                                    "Jobs that were canceled since the process started.", "counter",
                                    m.total_canceled_runs_since_start);
  }

  // Every plugin's labels, escaped once for the up to 15 lines that carry them.
  prometheus_label_sets labels;
  for (const auto& p : m.plugins) labels.add([&p](auto& ls) { detail::write_plugin_prometheus_labels(ls, p); });

  if (!m.plugins.empty()) {
    write_prometheus_family_header(s, "plugin_status", "Plugin status as a state set: 1 for the current status.",
                                   "gauge");
    for (std::size_t i = 0; i < m.plugins.size(); ++i) {
      write_status_state_set(s, "plugin_status", labels[i], m.plugins[i].status);
    }
  }

  const auto every = [](const plugin_metrics&) { return true; };
  const auto handlers = [](const plugin_metrics& p) { return p.is_handler(); };
  detail::write_prometheus_plugin_family(
      s, m, labels, "plugin_status_since", "Unix time of the last status change (0 = never).", "gauge", every,
      [](const plugin_metrics& p) { return to_unix_seconds(p.status_since); }, nullptr);
  detail::write_prometheus_plugin_family(
      s, m, labels, "plugin_last_successful_run", "Unix time of the last successful run (0 = never).", "gauge", handlers,
      [](const plugin_metrics& p) { return to_unix_seconds(p.last_successful_run); },
      [](const plugin_metrics& p) -> std::string_view { return p.last_successful_run_job_url; }, options.job_url_label);
  detail::write_prometheus_plugin_family(
      s, m, labels, "plugin_last_failed_run", "Unix time of the last failed run (0 = never).", "gauge", handlers,
      [](const plugin_metrics& p) { return to_unix_seconds(p.last_failed_run); },
      [](const plugin_metrics& p) -> std::string_view { return p.last_failed_run_job_url; }, options.job_url_label);
  detail::write_prometheus_plugin_family(
      s, m, labels, "plugin_last_canceled_run", "Unix time of the last canceled run (0 = never).", "gauge", handlers,
      [](const plugin_metrics& p) { return to_unix_seconds(p.last_canceled_run); },
      [](const plugin_metrics& p) -> std::string_view { return p.last_canceled_run_job_url; }, options.job_url_label);
  if (!solo) {
    detail::write_prometheus_plugin_family(
        s, m, labels, "plugin_total_ran_vms", "VMs this handler started since the process started.", "counter", handlers,
        [](const plugin_metrics& p) { return p.total_ran_vms; }, nullptr);
    detail::write_prometheus_plugin_family(
        s, m, labels, "plugin_total_successful_runs_since_start", "Jobs this handler ran successfully since start.",
        "counter", handlers, [](const plugin_metrics& p) { return p.total_successful_runs_since_start; }, nullptr);
    detail::write_prometheus_plugin_family(
        s, m, labels, "plugin_total_failed_runs_since_start", "Jobs of this handler that failed since start.", "counter",
        handlers, [](const plugin_metrics& p) { return p.total_failed_runs_since_start; }, nullptr);
    detail::write_prometheus_plugin_family(
        s, m, labels, "plugin_total_canceled_runs_since_start", "Jobs of this handler that were canceled since start.",
        "counter", handlers, [](const plugin_metrics& p) { return p.total_canceled_runs_since_start; }, nullptr);
  }

  const auto& h = m.host;
  detail::write_prometheus_scalar(s, "host_cpu_count", "CPU cores of the host.", "gauge", h.cpu_count);
  detail::write_prometheus_scalar(s, "host_cpu_used_count", "CPU cores in use (count times usage).", "gauge",
                                  h.cpu_used_count);
  detail::write_prometheus_scalar(s, "host_cpu_usage_percentage", "CPU busy share in percent.",
                                  h.cpu_usage_percentage);
  detail::write_prometheus_scalar(s, "host_memory_total_bytes", "Total memory in bytes.", "gauge",
                                  h.memory_total_bytes);
  detail::write_prometheus_scalar(s, "host_memory_used_bytes", "Used memory in bytes.", "gauge", h.memory_used_bytes);
  detail::write_prometheus_scalar(s, "host_memory_available_bytes", "Available memory in bytes.", "gauge",
                                  h.memory_available_bytes);
  detail::write_prometheus_scalar(s, "host_memory_usage_percentage", "Used memory in percent.",
                                  h.memory_usage_percentage);
  detail::write_prometheus_scalar(s, "host_disk_total_bytes", "Size of the root file system in bytes.", "gauge",
                                  h.disk_total_bytes);
  detail::write_prometheus_scalar(s, "host_disk_used_bytes", "Used bytes of the root file system.", "gauge",
                                  h.disk_used_bytes);
  detail::write_prometheus_scalar(s, "host_disk_available_bytes", "Bytes available on the root file system.",
                                  "gauge", h.disk_available_bytes);
  detail::write_prometheus_scalar(s, "host_disk_usage_percentage", "Used share of the root file system in percent.",
                                  h.disk_usage_percentage);
}

/// The same, written to the output iterator `out`; returns the iterator past the end.
template <std::output_iterator<char> Out>
Out format_prometheus(const metrics_snapshot& m, Out out, const prometheus_options& options = {}) {
  return write_through(std::move(out), [&](auto& s) { write_prometheus(s, m, options); });
}

/// The snapshot as Prometheus text, in a new string.
[[nodiscard]] inline std::string to_prometheus(const metrics_snapshot& m, const prometheus_options& options = {}) {
  std::string out;
  out.reserve(1024 + m.plugins.size() * 1536);
  format_prometheus(m, std::back_inserter(out), options);
  return out;
}

}  // namespace anklet::metrics
