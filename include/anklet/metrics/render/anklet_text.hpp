// anklet::metrics Anklet-text renderer: the lines Go Anklet's /metrics/v1 handler prints,
// byte for byte, so existing dashboards and scripts keep working. This text is not valid
// Prometheus exposition (values unquoted, strings as samples); use prometheus.hpp for that.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/render/numbers.hpp"
#include "anklet/metrics/render/sink.hpp"
#include "anklet/metrics/render/time.hpp"

namespace anklet::metrics {

/// Options of the Anklet text renderer.
struct anklet_text_options {
  /// Go prints times in the process's local zone; `utc` makes output host-independent.
  time_zone zone = time_zone::local;
};

namespace detail {

// One plugin's label text, built once for its up to 9 lines: `{name=N,plugin=P,owner=O`
// and then `,repo=R` when set. Raw bytes, as Go's %s prints them.
struct anklet_labels {
  std::string text;
  std::size_t without_repo = 0;

  void assign(const plugin_metrics& p) {
    text.clear();
    text.append("{name=").append(p.name).append(",plugin=").append(p.plugin_name);
    text.append(",owner=").append(p.owner_name);
    without_repo = text.size();
    if (!p.repo_name.empty()) text.append(",repo=").append(p.repo_name);
  }
  [[nodiscard]] std::string_view with_repo() const noexcept { return text; }
  [[nodiscard]] std::string_view no_repo() const noexcept { return std::string_view(text).substr(0, without_repo); }
};

template <char_sink Sink>
void write_anklet_last_run(Sink& s, std::string_view metric, const anklet_labels& labels, std::string_view job_url,
                           time_point t, time_zone zone) {
  s.write(metric);
  s.write(labels.with_repo());
  s.write(",job_url=");
  s.write(job_url);
  s.write("} ");
  write_rfc3339(s, t, zone);
  s.put('\n');
}

template <char_sink Sink>
void write_anklet_count(Sink& s, std::string_view metric, const anklet_labels& labels, std::uint64_t v) {
  s.write(metric);
  s.write(labels.no_repo());
  s.write("} ");
  write_uint(s, v);
  s.put('\n');
}

template <char_sink Sink>
void write_anklet_line(Sink& s, std::string_view metric, std::uint64_t v) {
  s.write(metric);
  s.put(' ');
  write_uint(s, v);
  s.put('\n');
}

template <char_sink Sink>
void write_anklet_line(Sink& s, std::string_view metric, double v) {
  s.write(metric);
  s.put(' ');
  write_go_fixed6(s, v);
  s.put('\n');
}

}  // namespace detail

namespace detail {
// Go's handler decides by the plugin name alone, whatever kind a plugin was registered as.
inline bool receiver_by_name(const plugin_metrics& p) noexcept {
  return std::string_view(p.plugin_name).find("_receiver") != std::string_view::npos;
}
}  // namespace detail

/// Writes Go Anklet's metrics text to a sink.
///
/// As in Go, one rule decides what a receiver is, everywhere in this format: a plugin whose
/// plugin name contains `_receiver`, whatever kind it was registered as. Receivers get no
/// last-run and no plugin_total_* lines; every other plugin gets both (a registered
/// receiver named otherwise, with zero values). The four process totals are left out when
/// every plugin is a receiver by that rule (Anklet's "solo receiver").
template <char_sink Sink>
void write_anklet_text(Sink& s, const metrics_snapshot& m, const anklet_text_options& options = {}) {
  const bool solo = !m.plugins.empty() && std::all_of(m.plugins.begin(), m.plugins.end(), detail::receiver_by_name);
  if (!solo) {
    for (const auto& t : catalogue::process_totals<metrics_snapshot>) {
      detail::write_anklet_line(s, t.meta.name, m.*t.value);
    }
  }
  // Go's line order differs from the catalogue's: the last runs come before status_since.
  const auto& families = catalogue::plugin_families<plugin_metrics>;
  detail::anklet_labels labels;  // reused: at most a few allocations per render
  for (const auto& p : m.plugins) {
    const bool handler_by_name = !detail::receiver_by_name(p);
    labels.assign(p);
    s.write(families[0].meta.name);
    s.write(labels.with_repo());
    s.write("} ");
    s.write(to_string(p.status));
    s.put('\n');
    if (handler_by_name) {
      for (const auto& f : families) {
        if (f.job_url == nullptr) continue;
        detail::write_anklet_last_run(s, f.meta.name, labels, p.*f.job_url, p.*f.time, options.zone);
      }
    }
    for (const auto& f : families) {
      if (f.time == nullptr || f.handlers_only) continue;
      s.write(f.meta.name);
      s.write(labels.with_repo());
      s.write("} ");
      write_rfc3339(s, p.*f.time, options.zone);
      s.put('\n');
    }
    if (handler_by_name) {
      for (const auto& f : families) {
        if (f.count != nullptr) detail::write_anklet_count(s, f.meta.name, labels, p.*f.count);
      }
    }
  }
  for (const auto& f : catalogue::host_fields) {
    if (f.count != nullptr) detail::write_anklet_line(s, f.meta.name, m.host.*f.count);
    else detail::write_anklet_line(s, f.meta.name, m.host.*f.share);
  }
}

/// The same, written to the output iterator `out`; returns the iterator past the end.
template <std::output_iterator<char> Out>
Out format_anklet_text(const metrics_snapshot& m, Out out, const anklet_text_options& options = {}) {
  return write_through(std::move(out), [&](auto& s) { write_anklet_text(s, m, options); });
}

/// Go Anklet's metrics text in a new string.
[[nodiscard]] inline std::string to_anklet_text(const metrics_snapshot& m, const anklet_text_options& options = {}) {
  std::string out;
  out.reserve(1024 + m.plugins.size() * 1024);
  format_anklet_text(m, std::back_inserter(out), options);
  return out;
}

}  // namespace anklet::metrics
