// anklet::metrics data model: plain values that the store fills and the renderers read.
// Nothing here locks; a metrics_snapshot is an owned copy, safe to read on any thread.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anklet/metrics/core/status.hpp"
#include "anklet/metrics/core/time.hpp"

namespace anklet::metrics {

/// Receivers queue CI events (Go's PluginBase); handlers run jobs in VMs (Go's Plugin)
/// and carry run times, job URLs and counters besides.
enum class plugin_kind : std::uint8_t { receiver, handler };

/// How a job run ended (handler handles' finish_run, the job-duration histograms).
enum class run_outcome : std::uint8_t { successful, failed, canceled };

/// Every outcome, in declaration order (the order of histogram series and exemplars).
inline constexpr std::array<run_outcome, 3> all_outcomes{run_outcome::successful, run_outcome::failed,
                                                         run_outcome::canceled};

/// The spelling of an outcome in the `outcome` label.
[[nodiscard]] constexpr std::string_view to_string(run_outcome o) noexcept {
  switch (o) {
    case run_outcome::successful: return "successful";
    case run_outcome::failed: return "failed";
    case run_outcome::canceled: return "canceled";
  }
  return "unknown";
}

/// Upper bounds (seconds) of the job-duration buckets unless the store is told otherwise:
/// CI jobs take from seconds to hours.
inline constexpr std::array<double, 13> default_job_duration_buckets{10,   30,   60,   120,  300,   600,  900,
                                                                     1800, 2700, 3600, 7200, 10800, 21600};
/// Upper bounds (seconds) of the VM-template pull buckets unless the store is told otherwise.
inline constexpr std::array<double, 11> default_pull_duration_buckets{5,   10,  30,   60,   120, 300,
                                                                      600, 900, 1800, 3600, 7200};

/// A histogram's state: how many observations fell in each bucket (not cumulative; one
/// bucket per upper bound, then the last for +Inf), their sum and their count. The bounds
/// are kept beside it (metrics_snapshot's job_duration_buckets, or the caller's own). No
/// buckets at all means no histogram: receivers, and snapshots built by hand.
struct histogram_counts {
  std::vector<std::uint64_t> buckets;
  double sum = 0;
  std::uint64_t count = 0;

  /// Zero counts for `bounds` upper bounds (allocates; not on hot paths).
  void reset(std::size_t bounds) {
    buckets.assign(bounds + 1, 0);
    sum = 0;
    count = 0;
  }
  /// Counts `v` in the first bucket whose bound is at least `v` (+Inf when none): O(log n),
  /// no allocation. `bounds` (an array, vector or span of double) are the increasing upper
  /// bounds the buckets were sized for. NaN is not counted; a histogram without buckets
  /// counts nothing.
  template <class Bounds>
    requires requires(const Bounds& b) {
      { std::data(b) } -> std::convertible_to<const double*>;
      std::size(b);
    }
  void observe(const Bounds& bounds, double v) noexcept {
    // Neither <span> nor <cmath> here: both would add to every file that updates metrics.
    const double* first = std::data(bounds);
    const std::size_t n = std::size(bounds);
    if (buckets.size() != n + 1 || v != v) return;  // v != v: NaN
    // std::lower_bound without branches on the data: values observed are spread over the
    // buckets, so a branch per comparison would be mispredicted about half the time.
    std::size_t bucket = 0;
    if (n != 0) {
      const double* base = first;
      for (std::size_t len = n; len > 1;) {
        const std::size_t half = len / 2;
        base = base[half - 1] < v ? base + half : base;
        len -= half;
      }
      bucket = static_cast<std::size_t>(base - first) + (*base < v ? 1 : 0);
    }
    ++buckets[bucket];
    sum += v;
    ++count;
  }
  [[nodiscard]] bool empty() const noexcept { return buckets.empty(); }

  friend bool operator==(const histogram_counts&, const histogram_counts&) = default;
};

/// What identifies a plugin when it registers.
struct plugin_info {
  std::string name;         ///< unique key, e.g. "RUNNER1"
  std::string plugin_name;  ///< e.g. "github" or "github_receiver"
  std::string owner_name;
  std::string repo_name;    ///< may be empty
};

/// What only handlers carry: the job URLs and times of their last runs and their run
/// counters. One definition for a plugin's metrics and for a merge into them
/// (plugin_update), so the two cannot drift.
struct handler_fields {
  std::string last_successful_run_job_url;
  std::string last_failed_run_job_url;
  std::string last_canceled_run_job_url;
  time_point last_successful_run = never;
  time_point last_failed_run = never;
  time_point last_canceled_run = never;
  std::uint64_t total_ran_vms = 0;
  std::uint64_t total_successful_runs_since_start = 0;
  std::uint64_t total_failed_runs_since_start = 0;
  std::uint64_t total_canceled_runs_since_start = 0;

  friend bool operator==(const handler_fields&, const handler_fields&) = default;
};

/// A merge into one plugin (Go's UpdatePlugin): non-empty strings overwrite, times other
/// than `never` overwrite, counters only move up (a lower value is ignored), and a status
/// that differs from the current one also moves status_since to now (unless status_since
/// is given too). The run fields (handler_fields) apply to handlers only.
struct plugin_update : handler_fields {
  std::string plugin_name;
  std::string repo_name;
  std::string owner_name;
  std::optional<plugin_status> status;
  time_point status_since = never;

  /// True when any handler-only field is set.
  [[nodiscard]] bool touches_handler_fields() const noexcept {
    return !last_successful_run_job_url.empty() || !last_failed_run_job_url.empty() ||
           !last_canceled_run_job_url.empty() || !is_never(last_successful_run) || !is_never(last_failed_run) ||
           !is_never(last_canceled_run) || total_ran_vms != 0 || total_successful_runs_since_start != 0 ||
           total_failed_runs_since_start != 0 || total_canceled_runs_since_start != 0;
  }
};

namespace detail {

// The ends of plugin_status state-set lines, `,status="idle"} 0\n` and so on, for every
// status and both values, built at compile time from status.hpp so they can never drift
// apart. The renderers' state sets and plugin_label_text's are made of them.
struct state_set_tails {
  static constexpr std::size_t max_size = 48;
  std::array<std::array<char, max_size>, all_statuses.size() * 2> text{};
  std::array<std::size_t, all_statuses.size() * 2> size{};
  // Bytes of the tails at 0 up to and including each status's.
  std::array<std::size_t, all_statuses.size()> zero_ends{};

  [[nodiscard]] constexpr std::string_view get(std::size_t status_index, bool current) const {
    const std::size_t i = status_index * 2 + (current ? 1 : 0);
    return {text[i].data(), size[i]};
  }
};

constexpr state_set_tails make_state_set_tails() {
  state_set_tails t;
  std::size_t zeros = 0;
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
    zeros += t.size[i * 2];
    t.zero_ends[i] = zeros;
  }
  return t;
}

inline constexpr state_set_tails state_tails = make_state_set_tails();

}  // namespace detail

/// A plugin's identity as the text the Prometheus and OpenMetrics writers put on its lines:
/// the label set `name="...",plugin="...",owner="..."` (and `,repo="..."` when the repo is
/// set) and the plugin_status state set built on it, a line per status, each at 0. The
/// store keeps it with each plugin, made again only when the identity changes, so that a
/// render copies a block where it would escape four fields per plugin and write eight
/// lines (docs/performance.md). It holds text only when no field needs escaping (ASCII
/// without `\`, `"` or newline: nearly every plugin), and a writer uses it only while it
/// still matches the fields, so a snapshot edited or built by hand renders correctly
/// without it. A cache, not part of the plugin's value: any two compare equal.
class plugin_label_text {
 public:
  /// The family of the kept state set (the catalogue's plugin_status).
  static constexpr std::string_view state_set_family = "plugin_status";

  plugin_label_text() = default;
  plugin_label_text(const plugin_label_text&) = default;
  plugin_label_text(plugin_label_text&&) noexcept = default;
  plugin_label_text& operator=(plugin_label_text&&) noexcept = default;
  /// Shares the other's text. A snapshot taken into the same storage again holds the same
  /// text already, and then copies nothing, not even a reference count.
  plugin_label_text& operator=(const plugin_label_text& other) {
    if (made_ != other.made_) made_ = other.made_;
    return *this;
  }
  ~plugin_label_text() = default;

  /// Makes the text for these fields, or clears it when one of them needs escaping.
  void assign(std::string_view name, std::string_view plugin, std::string_view owner, std::string_view repo) {
    made_.reset();
    for (const std::string_view v : {name, plugin, owner, repo}) {
      if (!verbatim(v)) return;
    }
    auto made = std::make_shared<made_text>();
    made->sizes = {name.size(), plugin.size(), owner.size(), repo.size()};
    made->labels_size = fixed_size(repo) + name.size() + plugin.size() + owner.size() + repo.size();
    // Each state-set line: `plugin_status{` + labels + its tail.
    std::string prefix;
    prefix.reserve(state_set_family.size() + 1 + made->labels_size);
    prefix.append(state_set_family).push_back('{');
    for (const auto& [key, value] : {label{name_key, name}, label{plugin_key, plugin}, label{owner_key, owner}}) {
      prefix.append(key).append(value);
    }
    if (!repo.empty()) prefix.append(repo_key).append(repo);
    prefix.push_back('"');
    auto& text = made->text;
    text.reserve(all_statuses.size() * prefix.size() + detail::state_tails.zero_ends.back());
    for (std::size_t i = 0; i < all_statuses.size(); ++i) text.append(prefix).append(detail::state_tails.get(i, false));
    made_ = std::move(made);
  }

  /// The label set when it was made from exactly these fields, else empty (the writer
  /// escapes them itself then).
  [[nodiscard]] std::string_view for_fields(std::string_view name, std::string_view plugin, std::string_view owner,
                                            std::string_view repo) const noexcept {
    // Only assign() writes the text, so with the same field sizes its keys are where they
    // were and only the values need comparing.
    // Element by element: std::array's == is a call to memcmp.
    if (!made_) return {};
    const auto& sizes = made_->sizes;
    if (sizes[0] != name.size() || sizes[1] != plugin.size() || sizes[2] != owner.size() || sizes[3] != repo.size()) {
      return {};
    }
    const char* const labels = made_->text.data() + labels_offset;
    const char* at = labels;
    const auto next_matches = [&at](std::string_view key, std::string_view value) {
      at += key.size();
      const bool same = same_bytes(at, value);
      at += value.size();
      return same;
    };
    const bool same = next_matches(name_key, name) && next_matches(plugin_key, plugin) &&
                      next_matches(owner_key, owner) && (repo.empty() || next_matches(repo_key, repo));
    return same ? std::string_view(labels, made_->labels_size) : std::string_view();
  }

  /// The plugin_status lines made with the label set for_fields returns (use them only when
  /// it returned one): a line per status, in all_statuses order, each with the value 0.
  [[nodiscard]] std::string_view state_set() const noexcept { return made_ ? std::string_view(made_->text) : ""; }

  friend bool operator==(const plugin_label_text&, const plugin_label_text&) noexcept { return true; }

 private:
  struct label {
    std::string_view key;
    std::string_view value;
  };
  static constexpr std::string_view name_key = "name=\"";
  static constexpr std::string_view plugin_key = "\",plugin=\"";
  static constexpr std::string_view owner_key = "\",owner=\"";
  static constexpr std::string_view repo_key = "\",repo=\"";

  // What the keys and quotes add to the fields' own bytes.
  static constexpr std::size_t fixed_size(std::string_view repo) noexcept {
    return name_key.size() + plugin_key.size() + owner_key.size() + 1 + (repo.empty() ? 0 : repo_key.size());
  }
  // Bytes the label-value escaper writes as they are: ASCII but backslash, quote, newline.
  static constexpr bool verbatim(std::string_view v) noexcept {
    for (const char c : v) {
      if (static_cast<unsigned char>(c) >= 0x80 || c == '\\' || c == '"' || c == '\n') return false;
    }
    return true;
  }

  // memcmp for the short fields here, inlined: a call per field would cost more than the
  // comparison (this runs for every plugin on every render). 8 bytes at a time, the last
  // word overlapping the one before.
  static bool same_bytes(const char* p, std::string_view v) noexcept {
    const std::size_t n = v.size();
    if (n < 8) {
      for (std::size_t i = 0; i < n; ++i) {
        if (p[i] != v[i]) return false;
      }
      return true;
    }
    const auto word = [](const char* q) {
      std::uint64_t w;
      std::memcpy(&w, q, sizeof w);
      return w;
    };
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      if (word(p + i) != word(v.data() + i)) return false;
    }
    return word(p + n - 8) == word(v.data() + n - 8);
  }

  static constexpr std::size_t labels_offset = state_set_family.size() + 1;

  struct made_text {
    std::string text;  // the state set; the label set is on its first line
    std::array<std::size_t, 4> sizes{};  // of the fields it was made from
    std::size_t labels_size = 0;
  };
  // Never changed once made, so a store's record and all its snapshots share it.
  std::shared_ptr<const made_text> made_;
};

/// One plugin's metrics. Handler-only fields (handler_fields) stay at their zero values for
/// receivers.
struct plugin_metrics : handler_fields {
  plugin_kind kind = plugin_kind::handler;
  std::string name;
  std::string plugin_name;
  std::string repo_name;
  std::string owner_name;
  plugin_status status = plugin_status::idle;
  time_point status_since = never;
  /// Handlers of a store: seconds from in_progress to finish_run, one histogram per
  /// run_outcome (indexed by it); bounds in metrics_snapshot::job_duration_buckets.
  std::array<histogram_counts, all_outcomes.size()> job_durations;
  /// Handlers of a store: seconds spent in status pulling (a VM template); bounds in
  /// metrics_snapshot::pull_duration_buckets.
  histogram_counts pull_durations;
  /// The identity's label set for the text writers, kept by the store (plugin_label_text).
  plugin_label_text label_text;

  [[nodiscard]] bool is_handler() const noexcept { return kind == plugin_kind::handler; }
  friend bool operator==(const plugin_metrics&, const plugin_metrics&) = default;
};

/// The host figures Anklet reports (gopsutil equivalents). A source that failed leaves
/// its fields at zero.
struct host_metrics {
  std::uint64_t cpu_count = 0;
  std::uint64_t cpu_used_count = 0;
  double cpu_usage_percentage = 0;
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t memory_used_bytes = 0;
  std::uint64_t memory_available_bytes = 0;
  double memory_usage_percentage = 0;
  std::uint64_t disk_total_bytes = 0;
  std::uint64_t disk_used_bytes = 0;
  std::uint64_t disk_available_bytes = 0;
  double disk_usage_percentage = 0;

  friend bool operator==(const host_metrics&, const host_metrics&) = default;
};

/// Everything one process reports (Go's MetricsData), plugins in registration order.
struct metrics_snapshot {
  time_point last_update = never;
  std::uint64_t total_running_vms = 0;
  std::uint64_t total_successful_runs_since_start = 0;
  std::uint64_t total_failed_runs_since_start = 0;
  std::uint64_t total_canceled_runs_since_start = 0;
  host_metrics host;
  std::vector<plugin_metrics> plugins;
  /// Upper bounds (seconds) of every plugin's job_durations and pull_durations buckets.
  std::vector<double> job_duration_buckets;
  std::vector<double> pull_duration_buckets;

  /// Anklet's "solo receiver": every registered plugin is a receiver (and there is at
  /// least one). The global and per-plugin run totals are then left out of the text formats.
  [[nodiscard]] bool solo_receiver() const noexcept {
    return !plugins.empty() &&
           std::all_of(plugins.begin(), plugins.end(), [](const plugin_metrics& p) { return !p.is_handler(); });
  }
  friend bool operator==(const metrics_snapshot&, const metrics_snapshot&) = default;
};

}  // namespace anklet::metrics
