// anklet::metrics testing kit, scraping: what Prometheus would read from a store or a
// snapshot, rendered and parsed back. It brings in the Prometheus renderer and with it {fmt}.
#pragma once

#include <concepts>

#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/render/prometheus.hpp"
#include "anklet/metrics/testing/exposition.hpp"
#include "anklet/metrics/testing/exposition_reader.hpp"

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

}  // namespace anklet::metrics::testing
