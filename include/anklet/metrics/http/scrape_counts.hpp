// anklet::metrics::http scrape counts: the answers of /metrics/v1 by format and status
// code, served as anklet_metrics_scrapes_total (docs/metrics.md, "Self-metrics") in the
// style of promhttp_metric_handler_requests_total: an answer is counted once sent, so a
// scrape sees the ones before it.
//
// A collector whose figure moves with every scrape would make every scrape render anew;
// this one's generation moves at most once per interval (1 s by default), so a flood of
// scrapes still renders about once a second, and the counts served are at most that old.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/render/collector.hpp"
#include "anklet/metrics/render/format.hpp"

namespace anklet::metrics::http {

/// Answers of the metrics routes by format and status code; thread-safe, lock-free.
/// Servers that share one (server_options::scrapes) count together.
class scrape_counts {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds default_interval{1000};
  /// The status codes /metrics/v1 answers with.
  static constexpr std::array<int, 5> codes{200, 400, 401, 405, 500};

  explicit scrape_counts(std::chrono::milliseconds interval = default_interval) noexcept : interval_(interval) {}

  /// Counts one answer; `format` is the one served, nothing when none was (400, 401, 405).
  void count(std::optional<metrics_format> format, int status, clock::time_point now = clock::now()) noexcept {
    const auto c = code_index(status);
    if (!c) return;
    counts_[slot(format, *c)].fetch_add(1, std::memory_order_relaxed);
    const auto ns = now.time_since_epoch().count();
    auto last = last_move_.load(std::memory_order_relaxed);
    if (ns - last >= interval_ns() && last_move_.compare_exchange_strong(last, ns, std::memory_order_relaxed)) {
      generation_.fetch_add(1, std::memory_order_release);
    }
  }

  /// The answers counted for a format (nothing: none served) and status code.
  [[nodiscard]] std::uint64_t count_of(std::optional<metrics_format> format, int status) const noexcept {
    const auto c = code_index(status);
    return c ? counts_[slot(format, *c)].load(std::memory_order_relaxed) : 0;
  }

  /// Moves after answers were counted, at most once per interval.
  [[nodiscard]] std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

  /// anklet_metrics_scrapes_total{format,code}: every format's 200 series from the start
  /// (a counter is more useful with its zero), the others once they count something.
  void collect(family_writer& w) const {
    w.family(catalogue::self_scrapes);
    for (std::size_t f = 0; f <= all_formats.size(); ++f) {
      const bool served = f < all_formats.size();  // the last row: answers that served no format
      for (std::size_t c = 0; c < codes.size(); ++c) {
        const auto n = counts_[slot_at(f, c)].load(std::memory_order_relaxed);
        if (n == 0 && !(served && codes[c] == 200)) continue;
        char code[4] = {static_cast<char>('0' + codes[c] / 100), static_cast<char>('0' + codes[c] / 10 % 10),
                        static_cast<char>('0' + codes[c] % 10), '\0'};
        w.sample({{"format", served ? to_string(all_formats[f]) : std::string_view("none")}, {"code", code}}, n);
      }
    }
  }

 private:
  static std::optional<std::size_t> code_index(int status) noexcept {
    for (std::size_t i = 0; i < codes.size(); ++i) {
      if (codes[i] == status) return i;
    }
    return std::nullopt;
  }
  // Row `row` of the counters: a format's index, or all_formats.size() for no format.
  static std::size_t slot_at(std::size_t row, std::size_t code) noexcept { return row * codes.size() + code; }
  static std::size_t slot(std::optional<metrics_format> format, std::size_t code) noexcept {
    return slot_at(format ? static_cast<std::size_t>(*format) : all_formats.size(), code);
  }
  [[nodiscard]] clock::rep interval_ns() const noexcept {
    return std::chrono::duration_cast<clock::duration>(interval_).count();
  }

  std::chrono::milliseconds interval_;
  std::array<std::atomic<std::uint64_t>, (all_formats.size() + 1) * codes.size()> counts_{};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<clock::rep> last_move_{std::numeric_limits<clock::rep>::min() / 2};
};

static_assert(collector<scrape_counts>);

}  // namespace anklet::metrics::http
