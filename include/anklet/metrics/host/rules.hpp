// The arithmetic from raw host counters to the host_* figures (docs/metrics.md), shared by
// every platform's host source: Linux and macOS read different counters but apply the
// same rules, so the rules live here once. Pure functions of their arguments, std only.
#pragma once

#include <algorithm>
#include <cstdint>

#include "anklet/metrics/core/model.hpp"

namespace anklet::metrics::detail::host_rules {

inline bool mul_bytes(std::uint64_t count, std::uint64_t unit, std::uint64_t& out) noexcept {
  return !__builtin_mul_overflow(count, unit, &out);
}

/// part / whole * 100, 0 for an empty whole.
inline double percent(std::uint64_t part, std::uint64_t whole) noexcept {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole) * 100.0;
}

/// The busy share of `total` CPU ticks that passed since the previous sample, 0..100.
/// With no tick passed (two samples within one tick) `previous_usage` is answered, so that
/// quick successive scrapes stay stable instead of dropping to a made-up 0.
inline double busy_share(std::uint64_t busy, std::uint64_t total, double previous_usage) noexcept {
  if (total == 0) return previous_usage;
  return std::clamp(static_cast<double>(busy) / static_cast<double>(total) * 100.0, 0.0, 100.0);
}

/// The three CPU figures from the core count and the usage; used = integer part of
/// cores * usage / 100, never more than the cores.
inline void set_cpu(host_metrics& v, std::uint64_t cores, double usage) noexcept {
  v.cpu_count = cores;
  v.cpu_usage_percentage = usage;
  const auto used = static_cast<std::uint64_t>(static_cast<double>(cores) * usage / 100.0);
  v.cpu_used_count = std::min(used, cores);
}

/// The four memory figures; false (nothing set) when available exceeds total.
inline bool set_memory(host_metrics& v, std::uint64_t total, std::uint64_t available) noexcept {
  if (available > total) return false;
  v.memory_total_bytes = total;
  v.memory_available_bytes = available;
  v.memory_used_bytes = total - available;
  v.memory_usage_percentage = percent(v.memory_used_bytes, total);
  return true;
}

/// The four disk figures from a statvfs/statfs reading: total = blocks * unit, available =
/// blocks available to unprivileged users * unit, used = (blocks - free) * unit, and, like
/// df, usage = used / (used + available). False (nothing set) when the counts contradict
/// each other or overflow 64 bits.
inline bool set_disk(host_metrics& v, std::uint64_t blocks, std::uint64_t free_blocks, std::uint64_t avail_blocks,
                     std::uint64_t unit) noexcept {
  std::uint64_t total = 0;
  std::uint64_t available = 0;
  std::uint64_t used = 0;
  if (free_blocks > blocks || !mul_bytes(blocks, unit, total) || !mul_bytes(avail_blocks, unit, available) ||
      !mul_bytes(blocks - free_blocks, unit, used)) {
    return false;
  }
  v.disk_total_bytes = total;
  v.disk_available_bytes = available;
  v.disk_used_bytes = used;
  const double whole = static_cast<double>(used) + static_cast<double>(available);
  v.disk_usage_percentage = whole > 0 ? static_cast<double>(used) / whole * 100.0 : 0.0;
  return true;
}

}  // namespace anklet::metrics::detail::host_rules
