// anklet::metrics Prometheus renderer: text exposition format 0.0.4 over a snapshot.
//
// Go Anklet's own "prometheus" text is not valid exposition (unquoted label values,
// strings as sample values); this one keeps Anklet's metric and label names and makes
// them valid: every family has HELP and TYPE and contiguous samples, label values are
// quoted and escaped, plugin_status is a state set, times are Unix seconds (0 = never).
// `promtool check metrics` accepts it; its only remarks are naming lints on Anklet's
// names (counters without `_total`, and host_cpu_count / host_cpu_used_count).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

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
  /// OpenMetrics only: each handler's successful, failed and canceled run counters carry
  /// an exemplar with the latest run's job URL and time (docs/metrics.md, "Exemplars").
  bool exemplars = true;
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

static_assert(catalogue::plugin_families<plugin_metrics>[0].meta.name == plugin_label_text::state_set_family);

// Every plugin's label set, for the many lines that carry it: the text the store keeps with
// the plugin (plugin_label_text) where it still matches, with the state set made from it,
// or escaped here once per render for the rest. The one place the writers get a plugin's
// label set from.
class snapshot_label_sets {
 public:
  explicit snapshot_label_sets(const metrics_snapshot& m) : sets_(m.plugins.size()) {
    for (std::size_t i = 0; i < m.plugins.size(); ++i) {
      const auto& p = m.plugins[i];
      auto& set = sets_[i];
      set.labels = p.label_text.for_fields(p.name, p.plugin_name, p.owner_name, p.repo_name);
      if (set.labels.empty()) {
        escaped_.add([&p](auto& ls) { write_plugin_prometheus_labels(ls, p); });
      } else {
        set.state_set = p.label_text.state_set();
      }
    }
    // Views into escaped_ only once it is complete: it moves while it grows. A label set
    // is never empty (it starts with name=), so an empty view marks the escaped ones.
    std::size_t next = 0;
    for (auto& set : sets_) {
      if (set.labels.empty()) set.labels = escaped_[next++];
    }
  }
  [[nodiscard]] std::string_view operator[](std::size_t i) const noexcept { return sets_[i].labels; }
  /// Plugin i's plugin_status lines kept with its label set, all at 0; empty when its
  /// label set was escaped here.
  [[nodiscard]] std::string_view kept_state_set(std::size_t i) const noexcept { return sets_[i].state_set; }

 private:
  struct plugin_sets {
    std::string_view labels;
    std::string_view state_set;
  };
  std::vector<plugin_sets> sets_;  // one vector: one allocation per render for the views
  prometheus_label_sets escaped_;
};

// The HELP/TYPE (and OpenMetrics UNIT) lines of every family a snapshot has, made once per
// process and format and copied on each render: pieced together per render, they were a
// third of the time of a two-plugin render. A family of one unlabelled sample (the process
// totals, the host figures) has the sample's name and the space before its value too; a
// per-plugin family has its lines' start, `name{` or `name_total{`, in sample_heads.
struct snapshot_family_headers {
  std::array<std::string, catalogue::process_totals<metrics_snapshot>.size()> process_totals;
  std::array<std::string, catalogue::plugin_families<plugin_metrics>.size()> plugin_families;
  std::array<std::string, catalogue::plugin_histograms.size()> plugin_histograms;
  std::array<std::string, catalogue::host_fields.size()> host_fields;
  std::array<std::string, catalogue::plugin_families<plugin_metrics>.size()> sample_heads;

  explicit snapshot_family_headers(exposition_format f) {
    const auto header = [f](const catalogue::family& meta) {
      std::string text;
      write_through(std::back_inserter(text), [&](auto& s) { write_family_header(s, f, meta); });
      return text;
    };
    const auto sample_name = [f](const catalogue::family& meta) {
      return std::string(meta.name).append(sample_suffix(f, meta.name, meta.type));
    };
    for (std::size_t i = 0; i < process_totals.size(); ++i) {
      const auto& meta = catalogue::process_totals<metrics_snapshot>[i].meta;
      process_totals[i] = header(meta) + sample_name(meta) + ' ';
    }
    for (std::size_t i = 0; i < plugin_families.size(); ++i) {
      const auto& meta = catalogue::plugin_families<plugin_metrics>[i].meta;
      plugin_families[i] = header(meta);
      sample_heads[i] = sample_name(meta) + '{';
    }
    for (std::size_t i = 0; i < plugin_histograms.size(); ++i) {
      plugin_histograms[i] = header(catalogue::plugin_histograms[i]);
    }
    for (std::size_t i = 0; i < host_fields.size(); ++i) {
      const auto& meta = catalogue::host_fields[i].meta;
      host_fields[i] = header(meta) + sample_name(meta) + ' ';
    }
  }

  static const snapshot_family_headers& of(exposition_format f) {
    static const snapshot_family_headers prometheus(exposition_format::prometheus);
    static const snapshot_family_headers openmetrics(exposition_format::openmetrics);
    return f == exposition_format::openmetrics ? openmetrics : prometheus;
  }
};

// A family of one unlabelled sample: its text up to the value (snapshot_family_headers), the
// value, the line's end.
template <char_sink Sink, class Value>
void write_scalar_family(Sink& s, std::string_view up_to_value, Value v) {
  constexpr std::size_t value_room = 32;  // write_prometheus_double's most; integers take less
  detail::write_bounded(s, up_to_value.size() + value_room + 1, [&](auto& out) {
    out.write(up_to_value);
    if constexpr (std::is_floating_point_v<Value>) {
      write_prometheus_double(out, v);
    } else if constexpr (std::is_signed_v<Value>) {
      write_int(out, v);
    } else {
      write_uint(out, v);
    }
    out.put('\n');
  });
}

// The sample lines of one per-plugin family. What varies between families is decided at
// compile time, so each family's loop does only its own work per line.
template <bool Time, bool JobUrl, bool Exemplar, char_sink Sink>
void write_plugin_samples(Sink& s, const metrics_snapshot& m, const snapshot_label_sets& labels,
                          const catalogue::plugin_family<plugin_metrics>& fam, std::string_view head) {
  // Each line starts with a copy of `head`, read where the headers keep it: a local copy
  // made per render stalls the first lines' reads on the copy's stores.
  for (std::size_t i = 0; i < m.plugins.size(); ++i) {
    const auto& p = m.plugins[i];
    if (fam.handlers_only && !p.is_handler()) continue;
    const auto line = [&](auto& out) {
      out.write(head);
      out.write(labels[i]);
      if constexpr (JobUrl) {
        out.write(",job_url=\"");
        write_prometheus_label_value(out, p.*fam.job_url);
        out.put('"');
      }
      out.write("} ");
      if constexpr (Time) {
        write_int(out, to_unix_seconds(p.*fam.time));
      } else {
        write_uint(out, p.*fam.count);
      }
      if constexpr (Exemplar) {
        if (p.*fam.count != 0) write_exemplar(out, "job_url", p.*fam.exemplar_url, p.*fam.exemplar_time);
      }
      out.put('\n');
    };
    if constexpr (JobUrl || Exemplar) {
      line(s);  // a URL has no bound worth claiming
    } else {
      detail::write_bounded(s, head.size() + labels[i].size() + 3 + max_integer_chars, line);
    }
  }
}

// The catalogue's per-plugin family `k`, its header only when a plugin is selected
// (`handlers`: whether any plugin is a handler): a sample per selected plugin with its
// label set, `,job_url="..."` when asked for on a last-run family, and in OpenMetrics the
// latest run's exemplar on a run counter.
template <char_sink Sink>
void write_plugin_family(Sink& s, exposition_format f, const snapshot_family_headers& headers, std::size_t k,
                         const metrics_snapshot& m, const snapshot_label_sets& labels,
                         const prometheus_options& options, bool solo, bool handlers) {
  const auto& fam = catalogue::plugin_families<plugin_metrics>[k];
  if ((fam.run_total && solo) || m.plugins.empty() || (fam.handlers_only && !handlers)) return;
  s.write(headers.plugin_families[k]);
  const auto& head = headers.sample_heads[k];
  if (fam.time != nullptr) {
    if (options.job_url_label && fam.job_url != nullptr) {
      write_plugin_samples<true, true, false>(s, m, labels, fam, head);
    } else {
      write_plugin_samples<true, false, false>(s, m, labels, fam, head);
    }
  } else if (f == exposition_format::openmetrics && options.exemplars && fam.exemplar_url != nullptr) {
    write_plugin_samples<false, false, true>(s, m, labels, fam, head);
  } else {
    write_plugin_samples<false, false, false>(s, m, labels, fam, head);
  }
}

// The two histogram families, for the handlers that have them (a store's snapshot).
template <char_sink Sink>
void write_plugin_histograms(Sink& s, const snapshot_family_headers& headers, const metrics_snapshot& m,
                             const snapshot_label_sets& labels) {
  prometheus_label_sets le_tails;
  static constexpr std::array<std::string_view, all_outcomes.size()> outcome_labels{
      ",outcome=\"successful\"", ",outcome=\"failed\"", ",outcome=\"canceled\""};
  static_assert(to_string(all_outcomes[2]) == "canceled");
  for (std::size_t k = 0; k < catalogue::plugin_histograms.size(); ++k) {
    const auto& meta = catalogue::plugin_histograms[k];
    const bool jobs = meta.name == catalogue::plugin_job_duration.name;
    const auto& bounds = jobs ? m.job_duration_buckets : m.pull_duration_buckets;
    const auto fits = [&bounds](const histogram_counts& h) { return h.buckets.size() == bounds.size() + 1; };
    bool any = false;
    for (std::size_t i = 0; i < m.plugins.size(); ++i) {
      const auto& p = m.plugins[i];
      const bool has = jobs ? std::all_of(p.job_durations.begin(), p.job_durations.end(), fits) : fits(p.pull_durations);
      if (!p.is_handler() || !has) continue;
      if (!any) {
        s.write(headers.plugin_histograms[k]);
        histogram_le_tails(bounds, le_tails);  // only for a family that has series
        any = true;
      }
      if (jobs) {
        for (std::size_t o = 0; o < all_outcomes.size(); ++o) {
          write_histogram_series(s, meta.name, labels[i], outcome_labels[o], le_tails, p.job_durations[o]);
        }
      } else {
        write_histogram_series(s, meta.name, labels[i], {}, le_tails, p.pull_durations);
      }
    }
  }
}

// Every family of a snapshot in format `f`, in the order of docs/metrics.md: the four
// process totals (left out for a solo receiver), plugin_status, plugin_status_since, the
// three plugin_last_*_run (handlers), the four plugin_total_* (handlers, not for a solo
// receiver), the two histograms (handlers of a store), the 11 host_*. OpenMetrics' `# EOF`
// is the caller's: more families may follow (collectors, docs/collectors.md).
template <char_sink Sink>
void write_snapshot_families(Sink& s, exposition_format f, const metrics_snapshot& m,
                             const prometheus_options& options) {
  const bool solo = m.solo_receiver();
  const auto& headers = snapshot_family_headers::of(f);
  if (!solo) {
    const auto& totals = catalogue::process_totals<metrics_snapshot>;
    for (std::size_t k = 0; k < totals.size(); ++k) {
      write_scalar_family(s, headers.process_totals[k], m.*totals[k].value);
    }
  }

  const snapshot_label_sets labels(m);

  const auto& families = catalogue::plugin_families<plugin_metrics>;
  if (!m.plugins.empty()) {
    s.write(headers.plugin_families[0]);
    const std::string_view family = families[0].meta.name;
    for (std::size_t i = 0; i < m.plugins.size(); ++i) {
      if (const auto kept = labels.kept_state_set(i); !kept.empty()) {
        write_kept_state_set(s, kept, family.size() + 1 + labels[i].size(), m.plugins[i].status);
      } else {
        write_status_state_set(s, family, labels[i], m.plugins[i].status);
      }
    }
  }
  const bool handlers = std::any_of(m.plugins.begin(), m.plugins.end(), [](const plugin_metrics& p) { return p.is_handler(); });
  for (std::size_t k = 1; k < families.size(); ++k) {
    write_plugin_family(s, f, headers, k, m, labels, options, solo, handlers);
  }
  write_plugin_histograms(s, headers, m, labels);

  for (std::size_t k = 0; k < catalogue::host_fields.size(); ++k) {
    const auto& h = catalogue::host_fields[k];
    if (h.count != nullptr) {
      write_scalar_family(s, headers.host_fields[k], m.host.*h.count);
    } else {
      write_scalar_family(s, headers.host_fields[k], m.host.*h.share);
    }
  }
}

}  // namespace detail

/// Writes the snapshot as Prometheus text exposition 0.0.4 to a sink. Families, in
/// order: the four process totals (left out for a solo receiver), plugin_status,
/// plugin_status_since, the three plugin_last_*_run (handlers), the four plugin_total_*
/// (handlers, not for a solo receiver), the job and pull duration histograms (handlers of
/// a store), the 11 host_*. Allocates once per render for the plugins' label sets, never
/// per line.
template <char_sink Sink>
void write_prometheus(Sink& s, const metrics_snapshot& m, const prometheus_options& options = {}) {
  detail::write_snapshot_families(s, exposition_format::prometheus, m, options);
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
