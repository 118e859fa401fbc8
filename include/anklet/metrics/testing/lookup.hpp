// anklet::metrics testing kit, lookups: the sample (or value, or plugin status) a test
// asserts on, found by metric name and labels, and samples printed for failure messages.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "anklet/metrics/testing/exposition.hpp"

namespace anklet::metrics::testing {

/// One label a lookup requires: `{"name", "RUNNER1"}`.
struct label_matcher {
  std::string_view name;
  std::string_view value;
};

/// True when `s` is named `name` and carries every label of `matchers` (others may be
/// present too).
[[nodiscard]] inline bool matches(const sample& s, std::string_view name, std::span<const label_matcher> matchers) {
  if (s.name != name) return false;
  for (const auto& m : matchers) {
    const std::string* v = s.label_value(m.name);
    if (v == nullptr || *v != m.value) return false;
  }
  return true;
}

/// Every sample of `samples` that matches, in order.
[[nodiscard]] inline std::vector<const sample*> find_all(std::span<const sample> samples, std::string_view name,
                                                         std::span<const label_matcher> matchers = {}) {
  std::vector<const sample*> out;
  for (const auto& s : samples) {
    if (matches(s, name, matchers)) out.push_back(&s);
  }
  return out;
}

/// Every sample of the exposition that matches, in order.
[[nodiscard]] inline std::vector<const sample*> find_all(const exposition& e, std::string_view name,
                                                         std::span<const label_matcher> matchers = {}) {
  std::vector<const sample*> out;
  for (const auto& f : e.families) {
    for (const auto* s : find_all(std::span<const sample>(f.samples), name, matchers)) out.push_back(s);
  }
  return out;
}

namespace detail {
[[nodiscard]] inline std::string describe(std::string_view name, std::span<const label_matcher> matchers) {
  std::string out(name);
  out += '{';
  for (std::size_t i = 0; i < matchers.size(); ++i) {
    if (i != 0) out += ',';
    out += matchers[i].name;
    out += "=\"";
    out += matchers[i].value;
    out += '"';
  }
  out += '}';
  return out;
}

template <class Source>
const sample* find_unique(const Source& source, std::string_view name, std::span<const label_matcher> matchers) {
  const auto all = find_all(source, name, matchers);
  if (all.size() > 1) {
    throw std::invalid_argument("ambiguous lookup: " + std::to_string(all.size()) + " samples match " +
                                describe(name, matchers) + "; name more labels");
  }
  return all.empty() ? nullptr : all.front();
}
}  // namespace detail

/// The one sample that matches, or nullptr when none does. Throws std::invalid_argument
/// when several match: the lookup is then a mistake in the test (name more labels).
[[nodiscard]] inline const sample* find_sample(std::span<const sample> samples, std::string_view name,
                                               std::span<const label_matcher> matchers = {}) {
  return detail::find_unique(samples, name, matchers);
}
[[nodiscard]] inline const sample* find_sample(std::span<const sample> samples, std::string_view name,
                                               std::initializer_list<label_matcher> matchers) {
  return find_sample(samples, name, std::span<const label_matcher>(matchers.begin(), matchers.size()));
}
[[nodiscard]] inline const sample* find_sample(const exposition& e, std::string_view name,
                                               std::span<const label_matcher> matchers = {}) {
  return detail::find_unique(e, name, matchers);
}
[[nodiscard]] inline const sample* find_sample(const exposition& e, std::string_view name,
                                               std::initializer_list<label_matcher> matchers) {
  return find_sample(e, name, std::span<const label_matcher>(matchers.begin(), matchers.size()));
}

/// The value of the one sample that matches, or nothing when none does. Throws
/// std::invalid_argument when several match.
///   find(scraped, "plugin_status", {{"name", "RUNNER1"}, {"status", "idle"}}) == 1
[[nodiscard]] inline std::optional<double> find(std::span<const sample> samples, std::string_view name,
                                                std::span<const label_matcher> matchers = {}) {
  const sample* s = find_sample(samples, name, matchers);
  return s != nullptr ? std::optional<double>(s->value) : std::nullopt;
}
[[nodiscard]] inline std::optional<double> find(std::span<const sample> samples, std::string_view name,
                                                std::initializer_list<label_matcher> matchers) {
  return find(samples, name, std::span<const label_matcher>(matchers.begin(), matchers.size()));
}
[[nodiscard]] inline std::optional<double> find(const exposition& e, std::string_view name,
                                                std::span<const label_matcher> matchers = {}) {
  const sample* s = find_sample(e, name, matchers);
  return s != nullptr ? std::optional<double>(s->value) : std::nullopt;
}
[[nodiscard]] inline std::optional<double> find(const exposition& e, std::string_view name,
                                                std::initializer_list<label_matcher> matchers) {
  return find(e, name, std::span<const label_matcher>(matchers.begin(), matchers.size()));
}

/// The status whose plugin_status series is 1 for the plugin named `plugin`, or nothing
/// when there is no such plugin. Throws std::invalid_argument when the state set is broken
/// (no status at 1, or several).
[[nodiscard]] inline std::optional<std::string> current_status(const exposition& e, std::string_view plugin) {
  const label_matcher by_name[] = {{"name", plugin}};
  const auto series = find_all(e, "plugin_status", by_name);
  if (series.empty()) return std::nullopt;
  const std::string* current = nullptr;
  for (const auto* s : series) {
    if (s->value == 1) {
      if (current != nullptr) {
        throw std::invalid_argument("plugin_status of '" + std::string(plugin) + "' is 1 for several statuses");
      }
      current = s->label_value("status");
    }
  }
  if (current == nullptr) throw std::invalid_argument("plugin_status of '" + std::string(plugin) + "' has no status at 1");
  return *current;
}

/// `name{label="value",...} value` with the exposition's escapes, for failure messages.
[[nodiscard]] inline std::string to_string(const sample& s) {
  std::string out = s.name;
  if (!s.labels.empty()) {
    out += '{';
    for (std::size_t i = 0; i < s.labels.size(); ++i) {
      if (i != 0) out += ',';
      out += s.labels[i].name;
      out += "=\"";
      for (const char c : s.labels[i].value) {
        if (c == '\\' || c == '"') {
          out += '\\';
          out += c;
        } else if (c == '\n') {
          out += "\\n";
        } else {
          out += c;
        }
      }
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  if (std::isnan(s.value)) {
    out += "NaN";
  } else if (std::isinf(s.value)) {
    out += s.value > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, s.value);
    out.append(buf, r.ptr);
  }
  if (s.timestamp_ms) {
    out += ' ';
    out += std::to_string(*s.timestamp_ms);
  }
  return out;
}

}  // namespace anklet::metrics::testing
