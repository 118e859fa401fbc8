// anklet::metrics exposition primitives, for Prometheus text 0.0.4 and OpenMetrics 1.0.0:
// the lines that open a family, the plugin_status state set, label sets escaped once for
// many lines, histogram series, exemplars. The two formats differ only in what these
// primitives write (docs/metrics.md, "OpenMetrics"), so every writer is one code path.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/core/status.hpp"
#include "anklet/metrics/core/time.hpp"
#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/render/escape.hpp"
#include "anklet/metrics/render/numbers.hpp"
#include "anklet/metrics/render/sink.hpp"

namespace anklet::metrics {

/// The two Prometheus text formats: exposition 0.0.4 and OpenMetrics 1.0.0.
enum class exposition_format : std::uint8_t { prometheus, openmetrics };

/// The name of a family in `f`'s metadata lines. OpenMetrics names a counter family without
/// `_total` and puts the suffix on its samples, so `plugin_total_ran_vms` is the family of
/// `plugin_total_ran_vms_total` there; 0.0.4 uses the name as given for both.
[[nodiscard]] constexpr std::string_view family_name(exposition_format f, std::string_view name,
                                                     catalogue::family_type type) noexcept {
  constexpr std::string_view total = "_total";
  if (f == exposition_format::openmetrics && type == catalogue::family_type::counter && name.size() > total.size() &&
      name.substr(name.size() - total.size()) == total) {
    return name.substr(0, name.size() - total.size());
  }
  return name;
}

/// What follows a family's name in its samples' names: `_total` for an OpenMetrics counter
/// whose name lacks it, else nothing.
[[nodiscard]] constexpr std::string_view sample_suffix(exposition_format f, std::string_view name,
                                                       catalogue::family_type type) noexcept {
  return f == exposition_format::openmetrics && type == catalogue::family_type::counter &&
                 family_name(f, name, type) == name
             ? std::string_view("_total")
             : std::string_view();
}

/// Whether an OpenMetrics `# UNIT` line may name `unit` for family `name`: only when the
/// name ends in `_<unit>` (Prometheus rejects the scrape otherwise).
[[nodiscard]] constexpr bool unit_applies(std::string_view name, std::string_view unit) noexcept {
  return !unit.empty() && name.size() > unit.size() + 1 && name.substr(name.size() - unit.size()) == unit &&
         name[name.size() - unit.size() - 1] == '_';
}

/// The lines that open a family: `# HELP` and `# TYPE`, and in OpenMetrics `# UNIT` where
/// unit_applies. `help` is written as given: it must hold no backslash, newline or (for
/// OpenMetrics) double quote, as the catalogue's texts do (family_writer escapes users').
template <char_sink Sink>
void write_family_header(Sink& s, exposition_format f, std::string_view name, std::string_view help,
                         catalogue::family_type type, std::string_view unit = {}) {
  const std::string_view family = family_name(f, name, type);
  const std::string_view type_name = catalogue::to_string(type);
  const bool unit_line = f == exposition_format::openmetrics && unit_applies(family, unit);
  const std::size_t most = 3 * family.size() + help.size() + type_name.size() + unit.size() + 32;
  detail::write_bounded(s, most, [&](auto& out) {
    out.write("# HELP ");
    out.write(family);
    out.put(' ');
    out.write(help);
    out.write("\n# TYPE ");
    out.write(family);
    out.put(' ');
    out.write(type_name);
    out.put('\n');
    if (unit_line) {
      out.write("# UNIT ");
      out.write(family);
      out.put(' ');
      out.write(unit);
      out.put('\n');
    }
  });
}

/// write_family_header for a catalogued family.
template <char_sink Sink>
void write_family_header(Sink& s, exposition_format f, const catalogue::family& meta) {
  write_family_header(s, f, meta.name, meta.help, meta.type, meta.unit);
}

/// The end of an OpenMetrics exposition.
inline constexpr std::string_view openmetrics_eof = "# EOF\n";

/// OpenMetrics limits an exemplar's label names and values together to 128 code points.
inline constexpr std::size_t max_exemplar_label_code_points = 128;

/// An OpenMetrics exemplar after a sample's value: ` # {label="value"} 1 1736328615.123`,
/// the value 1 (one run) and the time in Unix seconds to the millisecond (left out before
/// 1970 or when `at` is never). Writes nothing and returns false when `value` is empty or
/// `label` and `value` together exceed max_exemplar_label_code_points: a job URL that long
/// is dropped rather than cut, since a cut URL would link nowhere, and a longer exemplar
/// would make strict readers reject the whole scrape.
template <char_sink Sink>
bool write_exemplar(Sink& s, std::string_view label, std::string_view value, time_point at) {
  if (value.empty() || label.size() + detail::utf8_code_points(value) > max_exemplar_label_code_points) return false;
  s.write(" # {");
  write_prometheus_label(s, label, value);
  s.write("} 1");
  if (!is_never(at) && at.unix_seconds() >= 0) {
    s.put(' ');
    write_int(s, at.unix_seconds());
    const auto millis = at.subsecond_nanoseconds() / 1'000'000;
    detail::write_formatted<8>(s, [millis](char* p) { return fmt::format_to(p, FMT_COMPILE(".{:03}"), millis); });
  }
  return true;
}

/// The `# HELP` and `# TYPE` lines of Prometheus text 0.0.4 that open a family. `type` is
/// "gauge" or "counter". Help texts are ours and constant: they must hold no backslash or
/// newline.
template <char_sink Sink>
void write_prometheus_family_header(Sink& s, std::string_view name, std::string_view help,
                                    std::string_view type) {
  s.write("# HELP ");
  s.write(name);
  s.put(' ');
  s.write(help);
  s.write("\n# TYPE ");
  s.write(name);
  s.put(' ');
  s.write(type);
  s.put('\n');
}

/// The plugin_status state set of one plugin: a series per known status (in
/// all_statuses order) with a `status` label, 1 for `current` and 0 for the rest; a
/// `current` that is no known status adds its own series at 1, so nothing is hidden.
/// `write_labels(sink)` writes the plugin's own labels (comma separated, at least one)
/// on every line.
template <char_sink Sink, class LabelWriter>
  requires std::invocable<LabelWriter&, Sink&>
void write_status_state_set(Sink& s, std::string_view family, LabelWriter&& write_labels, std::string_view current) {
  bool known = false;
  for (std::size_t i = 0; i < all_statuses.size(); ++i) {
    const bool is_current = to_string(all_statuses[i]) == current;
    known = known || is_current;
    s.write(family);
    s.put('{');
    write_labels(s);
    s.write(detail::state_tails.get(i, is_current));
  }
  if (!known) {
    s.write(family);
    s.put('{');
    write_labels(s);
    s.put(',');
    write_prometheus_label(s, "status", current);
    s.write("} 1\n");
  }
}

/// The same with `labels` copied onto every line: the plugin's own label set, already
/// escaped and comma separated, not empty.
template <char_sink Sink>
void write_status_state_set(Sink& s, std::string_view family, std::string_view labels, std::string_view current) {
  write_status_state_set(s, family, [labels](Sink& sink) { sink.write(labels); }, current);
}

/// The same for a status of the core enum (no string comparisons).
template <char_sink Sink>
void write_status_state_set(Sink& s, std::string_view family, std::string_view labels, plugin_status current) {
  const std::size_t line = family.size() + 1 + labels.size() + detail::state_set_tails::max_size;
  detail::write_bounded(s, all_statuses.size() * line, [&](auto& out) {
    for (std::size_t i = 0; i < all_statuses.size(); ++i) {
      out.write(family);
      out.put('{');
      out.write(labels);
      out.write(detail::state_tails.get(i, all_statuses[i] == current));
    }
  });
}

namespace detail {

// A plugin's state set from the lines kept with it (plugin_label_text::state_set(): all at
// 0, each `prefix` bytes before its tail): copied, with the current status's 0 made a 1. A
// status outside all_statuses leaves them all at 0, as the writer above does.
template <char_sink Sink>
void write_kept_state_set(Sink& s, std::string_view zeros, std::size_t prefix, plugin_status current) {
  const auto index = static_cast<std::size_t>(current);
  if (index >= all_statuses.size()) return s.write(zeros);
  const std::size_t value = (index + 1) * prefix + state_tails.zero_ends[index] - 2;  // before `\n`
  s.write(zeros.substr(0, value));
  s.put('1');
  s.write(zeros.substr(value + 1));
}

// Label sets escaped once and copied into many sample lines: a plugin's labels appear
// in up to 15 series, and escaping them once per render instead of once per line is
// most of the renderer's speed. Reuse one object across renders to keep its storage.
class prometheus_label_sets {
 public:
  /// Appends a set; `write_labels(sink)` writes it, comma separated. Returns its index.
  template <class LabelWriter>
  std::size_t add(LabelWriter&& write_labels) {
    {
      buffer_sink sink(text_);
      write_labels(sink);
    }
    ends_.push_back(text_.size());
    return ends_.size() - 1;
  }
  /// The set added as number `i`.
  [[nodiscard]] std::string_view operator[](std::size_t i) const noexcept {
    const std::size_t begin = i == 0 ? 0 : ends_[i - 1];
    return {text_.data() + begin, ends_[i] - begin};
  }
  [[nodiscard]] std::size_t size() const noexcept { return ends_.size(); }
  void clear() noexcept {
    text_.clear();
    ends_.clear();
  }

 private:
  fmt::memory_buffer text_;
  std::vector<std::size_t> ends_;
};

// The ends of a histogram's bucket lines, `,le="10.0"} `, one per bound and then
// `,le="+Inf"} `, in canonical numbers (write_canonical_number) so the series are the same
// in both formats. Built once per render into `out` (cleared first).
inline void histogram_le_tails(std::span<const double> bounds, prometheus_label_sets& out) {
  out.clear();
  for (const double b : bounds) {
    out.add([b](auto& s) {
      s.write(",le=\"");
      write_canonical_number(s, b);
      s.write("\"} ");
    });
  }
  out.add([](auto& s) { s.write(",le=\"+Inf\"} "); });
}

}  // namespace detail

/// One histogram's series: `_bucket` (cumulative, `+Inf` last), `_sum` and `_count`, each
/// with `labels` (escaped, comma separated, may be empty) and then `extra` (`,outcome="x"`
/// or empty). `le_tails` come from histogram_le_tails for the same bounds as `h`'s buckets;
/// a histogram without buckets writes nothing.
template <char_sink Sink>
void write_histogram_series(Sink& s, std::string_view name, std::string_view labels, std::string_view extra,
                            const detail::prometheus_label_sets& le_tails, const histogram_counts& h) {
  if (h.buckets.empty() || h.buckets.size() != le_tails.size()) return;
  // Whatever comes first inside the braces loses its leading comma.
  const std::string_view more = labels.empty() && !extra.empty() ? extra.substr(1) : extra;
  const bool bare = labels.empty() && extra.empty();
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.buckets.size(); ++i) {
    cumulative += h.buckets[i];
    s.write(name);
    s.write("_bucket{");
    s.write(labels);
    s.write(more);
    const std::string_view tail = le_tails[i];
    s.write(bare ? tail.substr(1) : tail);
    write_uint(s, cumulative);
    s.put('\n');
  }
  for (const std::string_view part : {std::string_view("_sum"), std::string_view("_count")}) {
    s.write(name);
    s.write(part);
    if (!bare) {
      s.put('{');
      s.write(labels);
      s.write(more);
      s.put('}');
    }
    s.put(' ');
    if (part == "_sum") write_prometheus_double(s, h.sum);
    else write_uint(s, h.count);
    s.put('\n');
  }
}

}  // namespace anklet::metrics
