// anklet::metrics Prometheus exposition primitives: the `# HELP` / `# TYPE` lines that
// open a family, the plugin_status state set, and label sets escaped once for many lines.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "anklet/metrics/core/status.hpp"
#include "anklet/metrics/render/escape.hpp"
#include "anklet/metrics/render/sink.hpp"

namespace anklet::metrics {

/// The `# HELP` and `# TYPE` lines that open a family. `type` is "gauge" or "counter".
/// Help texts are ours and constant: they must hold no backslash or newline.
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

namespace detail {

// The ends of state-set lines, `,status="idle"} 0\n` and so on, for every status and
// both values, built at compile time from status.hpp so they can never drift apart.
struct state_set_tails {
  std::array<std::array<char, 48>, all_statuses.size() * 2> text{};
  std::array<std::size_t, all_statuses.size() * 2> size{};

  [[nodiscard]] constexpr std::string_view get(std::size_t status_index, bool current) const {
    const std::size_t i = status_index * 2 + (current ? 1 : 0);
    return {text[i].data(), size[i]};
  }
};

constexpr state_set_tails make_state_set_tails() {
  state_set_tails t;
  for (std::size_t i = 0; i < all_statuses.size(); ++i) {
    for (std::size_t value = 0; value < 2; ++value) {
      auto& out = t.text[i * 2 + value];
      std::size_t n = 0;
      for (const char c : std::string_view(",status=\"")) out[n++] = c;
      for (const char c : to_string(all_statuses[i])) out[n++] = c;
      for (const char c : std::string_view("\"} ")) out[n++] = c;
      out[n++] = value != 0 ? '1' : '0';
      out[n++] = '\n';
      t.size[i * 2 + value] = n;
    }
  }
  return t;
}

inline constexpr state_set_tails state_tails = make_state_set_tails();

}  // namespace detail

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
  for (std::size_t i = 0; i < all_statuses.size(); ++i) {
    s.write(family);
    s.put('{');
    s.write(labels);
    s.write(detail::state_tails.get(i, all_statuses[i] == current));
  }
}

namespace detail {

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

}  // namespace detail

}  // namespace anklet::metrics
