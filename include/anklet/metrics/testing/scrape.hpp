// anklet::metrics testing kit, scraping: what Prometheus would read from a store or a
// snapshot, rendered and parsed back, in Prometheus text 0.0.4 (scrape) or OpenMetrics
// (scrape_openmetrics, what Prometheus negotiates by default). It brings in the renderers
// and with them {fmt}.
#pragma once

#include <concepts>

#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/render/openmetrics.hpp"
#include "anklet/metrics/render/prometheus.hpp"
#include "anklet/metrics/testing/exposition.hpp"
#include "anklet/metrics/testing/exposition_reader.hpp"
#include "anklet/metrics/testing/openmetrics_reader.hpp"

namespace anklet::metrics::testing {

/// Renders `snap` with to_prometheus and parses it back; throws exposition_parse_error if
/// the renderer's output is not a valid exposition (which would be a library bug).
[[nodiscard]] inline exposition scrape(const metrics_snapshot& snap) { return parse_exposition(to_prometheus(snap)); }

/// What a Prometheus scrape of `s` would read now: snapshot, render, parse.
template <class Store>
  requires requires(const Store& s) {
    { s.snapshot() } -> std::same_as<metrics_snapshot>;
  }
[[nodiscard]] exposition scrape(const Store& s) {
  return scrape(s.snapshot());
}

/// Renders `snap` with to_openmetrics and parses it back with the strict OpenMetrics
/// reader; counters then appear as `<family>_total` samples, with their exemplars.
[[nodiscard]] inline exposition scrape_openmetrics(const metrics_snapshot& snap) {
  return parse_openmetrics(to_openmetrics(snap));
}

/// What a Prometheus scrape of `s` that negotiated OpenMetrics would read now.
template <class Store>
  requires requires(const Store& s) {
    { s.snapshot() } -> std::same_as<metrics_snapshot>;
  }
[[nodiscard]] exposition scrape_openmetrics(const Store& s) {
  return scrape_openmetrics(s.snapshot());
}

}  // namespace anklet::metrics::testing
