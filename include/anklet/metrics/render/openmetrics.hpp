// anklet::metrics OpenMetrics renderer: OpenMetrics 1.0.0 text over a snapshot, what
// Prometheus asks for by default (docs/metrics.md, "OpenMetrics").
//
// The same families, labels and values as the Prometheus text 0.0.4 of prometheus.hpp,
// written by the same code; what differs is the format's own spelling: a counter family
// is named without `_total` and its samples with it (`plugin_total_ran_vms` is the family
// of `plugin_total_ran_vms_total`), families whose name ends in their unit have a `# UNIT`
// line, each handler's run counters carry an exemplar with the latest run's job URL and
// time, and the text ends with `# EOF`.
#pragma once

#include <iterator>
#include <string>
#include <string_view>

#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/render/exposition.hpp"
#include "anklet/metrics/render/prometheus.hpp"
#include "anklet/metrics/render/sink.hpp"

namespace anklet::metrics {

/// The Content-Type of format_openmetrics' output.
inline constexpr std::string_view openmetrics_content_type =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Writes the snapshot's families in OpenMetrics 1.0.0, without the closing `# EOF`, for a
/// caller that adds families of its own (collectors) before it.
template <char_sink Sink>
void write_openmetrics_families(Sink& s, const metrics_snapshot& m, const prometheus_options& options = {}) {
  detail::write_snapshot_families(s, exposition_format::openmetrics, m, options);
}

/// Writes the snapshot as a whole OpenMetrics 1.0.0 exposition, `# EOF` included.
template <char_sink Sink>
void write_openmetrics(Sink& s, const metrics_snapshot& m, const prometheus_options& options = {}) {
  write_openmetrics_families(s, m, options);
  s.write(openmetrics_eof);
}

/// The same, written to the output iterator `out`; returns the iterator past the end.
template <std::output_iterator<char> Out>
Out format_openmetrics(const metrics_snapshot& m, Out out, const prometheus_options& options = {}) {
  return write_through(std::move(out), [&](auto& s) { write_openmetrics(s, m, options); });
}

/// The snapshot as OpenMetrics text, in a new string.
[[nodiscard]] inline std::string to_openmetrics(const metrics_snapshot& m, const prometheus_options& options = {}) {
  std::string out;
  out.reserve(1024 + m.plugins.size() * 4096);
  format_openmetrics(m, std::back_inserter(out), options);
  return out;
}

}  // namespace anklet::metrics
