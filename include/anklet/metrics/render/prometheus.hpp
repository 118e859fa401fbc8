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

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/render/escape.hpp"
#include "anklet/metrics/render/exposition.hpp"
#include "anklet/metrics/render/numbers.hpp"
#include "anklet/metrics/render/sink.hpp"
#include "anklet/metrics/render/time.hpp"

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
    for (const auto& t : catalogue::process_totals<metrics_snapshot>) {
      detail::write_prometheus_scalar(s, t.meta.name, t.meta.help, to_string(t.meta.type), m.*t.value);
    }
  }

  // Every plugin's labels, escaped once for the up to 15 lines that carry them.
  detail::prometheus_label_sets labels;
  for (const auto& p : m.plugins) labels.add([&p](auto& ls) { detail::write_plugin_prometheus_labels(ls, p); });

  const auto& families = catalogue::plugin_families<plugin_metrics>;
  if (!m.plugins.empty()) {
    write_prometheus_family_header(s, families[0].meta.name, families[0].meta.help, to_string(families[0].meta.type));
    for (std::size_t i = 0; i < m.plugins.size(); ++i) {
      write_status_state_set(s, families[0].meta.name, labels[i], m.plugins[i].status);
    }
  }

  const auto every = [](const plugin_metrics&) { return true; };
  const auto handlers = [](const plugin_metrics& p) { return p.is_handler(); };
  for (std::size_t k = 1; k < families.size(); ++k) {
    const auto& f = families[k];
    if (f.run_total && solo) continue;
    const std::string_view name = f.meta.name;
    const std::string_view type = to_string(f.meta.type);
    const auto write = [&](auto select) {
      if (f.time != nullptr) {
        const auto url = f.job_url;
        detail::write_prometheus_plugin_family(
            s, m, labels, name, f.meta.help, type, select,
            [t = f.time](const plugin_metrics& p) { return to_unix_seconds(p.*t); },
            [url](const plugin_metrics& p) -> std::string_view { return p.*url; },
            options.job_url_label && url != nullptr);
      } else {
        detail::write_prometheus_plugin_family(
            s, m, labels, name, f.meta.help, type, select, [c = f.count](const plugin_metrics& p) { return p.*c; },
            nullptr);
      }
    };
    if (f.handlers_only) write(handlers);
    else write(every);
  }

  for (const auto& f : catalogue::host_fields) {
    if (f.count != nullptr) {
      detail::write_prometheus_scalar(s, f.meta.name, f.meta.help, to_string(f.meta.type), m.host.*f.count);
    } else {
      detail::write_prometheus_scalar(s, f.meta.name, f.meta.help, m.host.*f.share);
    }
  }
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
