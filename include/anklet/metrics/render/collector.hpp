// anklet::metrics collectors: a tool's own families, served in the same scrape as the
// library's (docs/collectors.md).
//
// A collector describes families through a family_writer, which spells them in whichever
// text format the scraper negotiated (Prometheus 0.0.4 or OpenMetrics 1.0.0: `_total`,
// `# UNIT`, `# EOF` are the writer's business, not the collector's). Its generation()
// tells a server when what it would write has changed, so that rendered bodies are cached
// correctly: a server re-renders when the store, the host figures or the sum of its
// collectors' generations change.
//
// Example:
//   #include <atomic>
//   namespace am = anklet::metrics;
//   struct cache_metrics {               // the tool's own figures
//     std::atomic<std::uint64_t> hits{0};
//     std::atomic<std::uint64_t> changes{0};  // bumped with every change of hits
//     std::uint64_t generation() const { return changes.load(); }
//     void collect(am::family_writer& w) const {
//       w.family("tool_cache_hits_total", am::catalogue::family_type::counter, "Cache hits.");
//       w.sample({{"cache", "images"}}, hits.load());
//     }
//   };
//   static_assert(am::collector<cache_metrics>);
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/detail/compiled.hpp"
#include "anklet/metrics/render/escape.hpp"
#include "anklet/metrics/render/exposition.hpp"
#include "anklet/metrics/render/numbers.hpp"
#include "anklet/metrics/render/sink.hpp"

namespace anklet::metrics {

/// One label of a collector's sample. The value is escaped by the writer; bytes that are
/// not valid UTF-8 become U+FFFD.
struct label_pair {
  std::string_view name;
  std::string_view value;
};

namespace detail {

constexpr bool valid_metric_name(std::string_view n) noexcept {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

constexpr bool valid_label_name(std::string_view n) noexcept {
  if (n.empty() || n.substr(0, 2) == "__") return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace detail

/// Writes a collector's families into a sink in one text format. Families are written
/// in the order opened, each with its samples right after it; the writer checks names
/// and the order of calls and throws std::invalid_argument or std::logic_error on a
/// mistake (the server answers 500 and logs it), but not duplicate series.
template <char_sink Sink>
class basic_family_writer {
 public:
  using family_type = catalogue::family_type;

  basic_family_writer(Sink& s, exposition_format f) noexcept : s_(s), format_(f) {}

  /// The format being written, for a collector that needs to know.
  [[nodiscard]] exposition_format format() const noexcept { return format_; }

  /// Opens a family. A counter may be named with or without `_total` (its samples are
  /// named as the format wants: in OpenMetrics `x_total` is the sample of family `x`);
  /// `unit` (e.g. "seconds") is written in OpenMetrics only when the name ends in
  /// `_<unit>`, as the format requires. `help` is escaped here.
  void family(std::string_view name, family_type type, std::string_view help, std::string_view unit = {});
  /// Opens a family described like the catalogue's.
  void family(const catalogue::family& meta) { family(meta.name, meta.type, meta.help, meta.unit); }

  /// A sample of the open gauge or counter family.
  void sample(std::span<const label_pair> labels, double value);
  template <std::integral T>
  void sample(std::span<const label_pair> labels, T value) {
    begin_sample(labels);
    if constexpr (std::is_signed_v<T>) {
      write_int(s_, static_cast<std::int64_t>(value));
    } else {
      write_uint(s_, static_cast<std::uint64_t>(value));
    }
    s_.put('\n');
  }
  void sample(std::initializer_list<label_pair> labels, double value) { sample(span_of(labels), value); }
  template <std::integral T>
  void sample(std::initializer_list<label_pair> labels, T value) {
    sample(span_of(labels), value);
  }

  /// A histogram of the open histogram family: `_bucket` series for `bounds` (increasing
  /// upper bounds) and +Inf, `_sum` and `_count`. `counts.buckets` holds one count per
  /// bound and one for +Inf, not cumulative (histogram_counts::observe fills it so).
  void histogram(std::span<const label_pair> labels, std::span<const double> bounds, const histogram_counts& counts);
  void histogram(std::initializer_list<label_pair> labels, std::span<const double> bounds, const histogram_counts& counts) {
    histogram(span_of(labels), bounds, counts);
  }

 private:
  static std::span<const label_pair> span_of(std::initializer_list<label_pair> l) noexcept {
    return {l.begin(), l.size()};
  }

  void check_labels(std::span<const label_pair> labels) const;

  template <char_sink To>
  static void write_labels(To& to, std::span<const label_pair> labels) {
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i != 0) to.put(',');
      write_prometheus_label(to, labels[i].name, labels[i].value);
    }
  }

  void begin_sample(std::span<const label_pair> labels);

  Sink& s_;
  exposition_format format_;
  std::string name_;
  std::string help_;
  family_type type_ = family_type::gauge;
  bool open_ = false;
  fmt::memory_buffer labels_;
  detail::prometheus_label_sets le_tails_;
};

// The longer members are defined here, outside the class, so that compiled mode can leave
// the standard writer's to the implementation file (the instance after them).
template <char_sink Sink>
void basic_family_writer<Sink>::family(std::string_view name, family_type type, std::string_view help,
                                       std::string_view unit) {
  if (!detail::valid_metric_name(name) || name == "_total") {
    throw std::invalid_argument("family_writer: invalid metric name '" + std::string(name) + "'");
  }
  if (!unit.empty() && !detail::valid_metric_name("_" + std::string(unit))) {
    throw std::invalid_argument("family_writer: invalid unit '" + std::string(unit) + "'");
  }
  help_.clear();
  for (const char c : help) {
    if (c == '\\') {
      help_ += "\\\\";
    } else if (c == '\n') {
      help_ += "\\n";
    } else if (c == '"' && format_ == exposition_format::openmetrics) {
      help_ += "\\\"";
    } else {
      help_ += c;
    }
  }
  write_family_header(s_, format_, name, help_, type, unit);
  name_.assign(name);
  type_ = type;
  open_ = true;
}

template <char_sink Sink>
void basic_family_writer<Sink>::sample(std::span<const label_pair> labels, double value) {
  begin_sample(labels);
  write_prometheus_double(s_, value);
  s_.put('\n');
}

template <char_sink Sink>
void basic_family_writer<Sink>::histogram(std::span<const label_pair> labels, std::span<const double> bounds,
                                          const histogram_counts& counts) {
  if (!open_ || type_ != family_type::histogram) throw std::logic_error("family_writer: histogram() needs an open histogram family");
  if (counts.buckets.size() != bounds.size() + 1) {
    throw std::invalid_argument("family_writer: a histogram needs one count per bound and one for +Inf");
  }
  check_labels(labels);
  labels_.clear();
  {
    buffer_sink<fmt::memory_buffer> ls(labels_);
    write_labels(ls, labels);
  }
  detail::histogram_le_tails(bounds, le_tails_);
  write_histogram_series(s_, name_, std::string_view(labels_.data(), labels_.size()), {}, le_tails_, counts);
}

template <char_sink Sink>
void basic_family_writer<Sink>::check_labels(std::span<const label_pair> labels) const {
  for (const auto& l : labels) {
    if (!detail::valid_label_name(l.name) || (type_ == family_type::histogram && l.name == "le")) {
      throw std::invalid_argument("family_writer: invalid label name '" + std::string(l.name) + "'");
    }
  }
}

template <char_sink Sink>
void basic_family_writer<Sink>::begin_sample(std::span<const label_pair> labels) {
  if (!open_ || type_ == family_type::histogram) {
    throw std::logic_error("family_writer: sample() needs an open gauge or counter family");
  }
  check_labels(labels);
  s_.write(name_);
  s_.write(sample_suffix(format_, name_, type_));
  if (!labels.empty()) {
    s_.put('{');
    write_labels(s_, labels);
    s_.put('}');
  }
  s_.put(' ');
}

/// The writer servers hand to collectors: it appends to a body being rendered.
using family_writer = basic_family_writer<buffer_sink<fmt::memory_buffer>>;

#if defined(ANKLET_METRICS_STANDARD_INSTANCE)
// Compiled mode (docs/compiled-mode.md): the servers' writer is compiled in the
// implementation file only.
ANKLET_METRICS_STANDARD_INSTANCE class basic_family_writer<buffer_sink<fmt::memory_buffer>>;
#endif

/// A source of extra families for a metrics server (docs/collectors.md). Both members may
/// be called from several server threads at once, so they must be thread-safe.
/// `generation()` must change whenever what `collect()` writes would (and never go back):
/// a server keeps serving a cached body while it stays the same.
template <class C>
concept collector = requires(const C& c, family_writer& w) {
  { c.generation() } -> std::convertible_to<std::uint64_t>;
  c.collect(w);
};

/// A collector of any type, for server_options::collectors: shares ownership of it
/// (from a shared_ptr) or refers to it (from a reference, which must then outlive the
/// servers that use it).
class any_collector {
 public:
  template <collector C>
  any_collector(std::shared_ptr<C> c)  // NOLINT: implicit on purpose, like shared_ptr's own conversions
      : object_(std::move(c)),
        generation_([](const void* p) -> std::uint64_t { return static_cast<const C*>(p)->generation(); }),
        collect_([](const void* p, family_writer& w) { static_cast<const C*>(p)->collect(w); }) {}
  template <collector C>
  any_collector(const C& c)  // NOLINT: implicit on purpose
      : any_collector(std::shared_ptr<C>(std::shared_ptr<C>{}, const_cast<C*>(&c))) {}

  [[nodiscard]] std::uint64_t generation() const { return generation_(object_.get()); }
  void collect(family_writer& w) const { collect_(object_.get(), w); }

 private:
  std::shared_ptr<const void> object_;
  std::uint64_t (*generation_)(const void*);
  void (*collect_)(const void*, family_writer&);
};

static_assert(collector<any_collector>);

/// The sum of the collectors' generations: it changes whenever one of theirs does.
[[nodiscard]] inline std::uint64_t collectors_generation(std::span<const any_collector> collectors) {
  std::uint64_t sum = 0;
  for (const auto& c : collectors) sum += c.generation();
  return sum;
}

/// Writes every collector's families into `out` in format `f` (not `# EOF`).
inline void write_collectors(std::span<const any_collector> collectors, exposition_format f, fmt::memory_buffer& out) {
  if (collectors.empty()) return;
  buffer_sink<fmt::memory_buffer> sink(out);
  family_writer w(sink, f);
  for (const auto& c : collectors) c.collect(w);
}

}  // namespace anklet::metrics
