// anklet::metrics testing kit, the parsed exposition: families, samples and labels as the
// exposition readers (testing/exposition_reader.hpp for Prometheus text 0.0.4,
// testing/openmetrics_reader.hpp for OpenMetrics 1.0.0) return them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace anklet::metrics::testing {

/// One `name="value"` pair of a sample, the value unescaped.
struct label {
  std::string name;
  std::string value;
  friend bool operator==(const label&, const label&) = default;
};

/// An OpenMetrics exemplar: the labels, value and (optional) time after a sample's ` # `.
struct exemplar {
  std::vector<label> labels;
  double value = 0;
  std::optional<double> timestamp_seconds;

  /// The value of the label `label_name`, or nothing when the exemplar has no such label.
  [[nodiscard]] const std::string* label_value(std::string_view label_name) const noexcept {
    for (const auto& l : labels) {
      if (l.name == label_name) return &l.value;
    }
    return nullptr;
  }
};

/// One sample line. `line` is its 1-based line number in the parsed text.
struct sample {
  std::string name;
  std::vector<label> labels;  ///< in the order written
  double value = 0;
  std::optional<std::int64_t> timestamp_ms;       ///< Prometheus text 0.0.4: integer milliseconds
  std::optional<double> timestamp_seconds;        ///< OpenMetrics: seconds
  std::optional<struct exemplar> exemplar;        ///< OpenMetrics only
  std::size_t line = 0;

  /// The value of the label `label_name`, or nothing when the sample has no such label.
  [[nodiscard]] const std::string* label_value(std::string_view label_name) const noexcept {
    for (const auto& l : labels) {
      if (l.name == label_name) return &l.value;
    }
    return nullptr;
  }
};

/// What a `# TYPE` line declares; `untyped` also for families without one (OpenMetrics
/// spells it `unknown`). The last three exist in OpenMetrics only.
enum class metric_type : std::uint8_t { untyped, counter, gauge, histogram, summary, stateset, info, gaugehistogram };

/// The spelling of a type in Prometheus text 0.0.4 `# TYPE` lines (and OpenMetrics', but
/// for `unknown`).
[[nodiscard]] constexpr std::string_view to_string(metric_type t) noexcept {
  switch (t) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
    case metric_type::summary: return "summary";
    case metric_type::stateset: return "stateset";
    case metric_type::info: return "info";
    case metric_type::gaugehistogram: return "gaugehistogram";
    case metric_type::untyped: break;
  }
  return "untyped";
}

/// A metric family: its metadata and its samples, in the order written. Histogram and
/// summary families also hold their `_bucket`, `_sum` and `_count` samples.
struct metric_family {
  std::string name;
  std::optional<std::string> help;  ///< unescaped; nothing without a `# HELP` line
  std::optional<std::string> unit;  ///< OpenMetrics `# UNIT`; nothing without one
  metric_type type = metric_type::untyped;
  bool has_type_line = false;
  std::vector<sample> samples;
};

/// A whole parsed exposition, families in the order they appeared.
struct exposition {
  std::vector<metric_family> families;

  /// The family `family_name`, or nullptr.
  [[nodiscard]] const metric_family* family(std::string_view family_name) const noexcept {
    for (const auto& f : families) {
      if (f.name == family_name) return &f;
    }
    return nullptr;
  }
  /// Every sample of every family, in text order.
  [[nodiscard]] std::vector<sample> all_samples() const {
    std::vector<sample> out;
    for (const auto& f : families) out.insert(out.end(), f.samples.begin(), f.samples.end());
    return out;
  }
  [[nodiscard]] std::size_t sample_count() const noexcept {
    std::size_t n = 0;
    for (const auto& f : families) n += f.samples.size();
    return n;
  }
};

}  // namespace anklet::metrics::testing
