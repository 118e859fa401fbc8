// anklet::metrics time values: one time type for the whole library and the "never" value.
#pragma once

#include <chrono>

namespace anklet::metrics {

/// Wall-clock instant with nanosecond resolution (Unix epoch based).
using time_point = std::chrono::sys_time<std::chrono::nanoseconds>;

/// The time that was never set: Go's zero time, written `0001-01-01T00:00:00Z` in
/// Anklet's text and JSON and `0` in Prometheus. Kept distinct from the Unix epoch
/// because the epoch is a real instant a payload may carry.
inline constexpr time_point never = time_point::min();

/// True for the unset time.
[[nodiscard]] constexpr bool is_never(time_point t) noexcept { return t == never; }

}  // namespace anklet::metrics
