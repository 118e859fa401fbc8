// anklet::metrics time values: one time type for the whole library and the "never" value.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace anklet::metrics {

/// A wall-clock instant: whole seconds since the Unix epoch (rounded down) and the
/// nanoseconds within that second. std::chrono::sys_time<nanoseconds> only reaches the
/// years 1677 to 2262; this type holds every instant that Go's time.Time writes in RFC
/// 3339 (years 0001 to 9999, and far beyond) at full nanosecond precision, so any time
/// read from a Go host survives reading, storing and rendering.
///
/// It converts implicitly from any std::chrono::sys_time with an integral count
/// (`std::chrono::system_clock::now()`, `std::chrono::sys_days{2024y/1/15} + 10h`), and
/// like a std::chrono::time_point it can be built from a duration since the epoch, offset
/// by a duration, compared and subtracted.
class time_point {
 public:
  using duration = std::chrono::nanoseconds;

  /// The Unix epoch, as a default std::chrono::time_point.
  constexpr time_point() noexcept = default;

  /// The same instant as `t`.
  template <class Rep, class Period>
    requires std::is_integral_v<Rep>
  constexpr time_point(std::chrono::sys_time<std::chrono::duration<Rep, Period>> t) noexcept  // NOLINT: implicit on purpose
      : time_point(t.time_since_epoch()) {}

  /// `since_epoch` after the Unix epoch (before it when negative).
  template <class Rep, class Period>
    requires std::is_integral_v<Rep>
  constexpr explicit time_point(std::chrono::duration<Rep, Period> since_epoch) noexcept {
    const auto whole = std::chrono::floor<std::chrono::seconds>(since_epoch);
    seconds_ = static_cast<std::int64_t>(whole.count());
    nanoseconds_ = static_cast<std::uint32_t>(std::chrono::duration_cast<duration>(since_epoch - whole).count());
  }

  /// `seconds` after the epoch plus `nanoseconds` (any value; carried into the seconds).
  [[nodiscard]] static constexpr time_point from_unix(std::int64_t seconds, std::int64_t nanoseconds = 0) noexcept {
    time_point t;
    std::int64_t carry = nanoseconds / 1'000'000'000;
    std::int64_t rest = nanoseconds % 1'000'000'000;
    if (rest < 0) {
      rest += 1'000'000'000;
      --carry;
    }
    t.seconds_ = seconds + carry;
    t.nanoseconds_ = static_cast<std::uint32_t>(rest);
    return t;
  }

  /// Whole seconds since the Unix epoch, rounded down (negative before 1970).
  [[nodiscard]] constexpr std::int64_t unix_seconds() const noexcept { return seconds_; }
  /// Nanoseconds within the second, 0 to 999,999,999.
  [[nodiscard]] constexpr std::uint32_t subsecond_nanoseconds() const noexcept { return nanoseconds_; }

  /// The instant as a std::chrono::sys_time; only exact for years 1678 to 2261, clamped
  /// to that type's range beyond them.
  [[nodiscard]] constexpr std::chrono::sys_time<duration> to_sys_time() const noexcept {
    constexpr std::int64_t limit = std::numeric_limits<std::int64_t>::max() / 1'000'000'000 - 1;
    if (seconds_ > limit) return std::chrono::sys_time<duration>::max();
    if (seconds_ < -limit) return std::chrono::sys_time<duration>::min();
    return std::chrono::sys_time<duration>{duration{seconds_ * 1'000'000'000 + nanoseconds_}};
  }

  [[nodiscard]] static constexpr time_point min() noexcept { return from_unix(std::numeric_limits<std::int64_t>::min()); }
  [[nodiscard]] static constexpr time_point max() noexcept {
    return from_unix(std::numeric_limits<std::int64_t>::max(), 999'999'999);
  }

  template <class Rep, class Period>
  constexpr time_point& operator+=(std::chrono::duration<Rep, Period> d) noexcept {
    const time_point offset{d};
    *this = from_unix(seconds_ + offset.seconds_, std::int64_t{nanoseconds_} + offset.nanoseconds_);
    return *this;
  }
  template <class Rep, class Period>
  constexpr time_point& operator-=(std::chrono::duration<Rep, Period> d) noexcept {
    return *this += -d;
  }
  template <class Rep, class Period>
  [[nodiscard]] friend constexpr time_point operator+(time_point t, std::chrono::duration<Rep, Period> d) noexcept {
    return t += d;
  }
  template <class Rep, class Period>
  [[nodiscard]] friend constexpr time_point operator-(time_point t, std::chrono::duration<Rep, Period> d) noexcept {
    return t -= d;
  }
  /// The time from `b` to `a`, saturated to what nanoseconds hold (about 292 years).
  [[nodiscard]] friend constexpr duration operator-(time_point a, time_point b) noexcept {
    constexpr std::int64_t limit = std::numeric_limits<std::int64_t>::max() / 1'000'000'000 - 1;
    // Both differences are computed without overflow for every pair below the limit.
    if ((a.seconds_ >= 0 && b.seconds_ < a.seconds_ - limit) || (a.seconds_ < 0 && b.seconds_ > a.seconds_ + limit)) {
      return a.seconds_ > b.seconds_ ? duration::max() : duration::min();
    }
    const std::int64_t secs = a.seconds_ - b.seconds_;
    if (secs > limit) return duration::max();
    if (secs < -limit) return duration::min();
    return duration{secs * 1'000'000'000 + (std::int64_t{a.nanoseconds_} - std::int64_t{b.nanoseconds_})};
  }

  friend constexpr bool operator==(const time_point&, const time_point&) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(const time_point&, const time_point&) noexcept = default;

 private:
  std::int64_t seconds_ = 0;
  std::uint32_t nanoseconds_ = 0;
};

/// The time that was never set: Go's zero time, 0001-01-01T00:00:00Z, which Go's
/// `IsZero` tests for. Written `0001-01-01T00:00:00Z` in Anklet's text and JSON and `0`
/// in Prometheus. Kept distinct from the Unix epoch because the epoch is a real instant
/// a payload may carry.
inline constexpr time_point never = time_point::from_unix(-62'135'596'800);

/// True for the unset time.
[[nodiscard]] constexpr bool is_never(time_point t) noexcept { return t == never; }

}  // namespace anklet::metrics
