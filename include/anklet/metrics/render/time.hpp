// anklet::metrics times as the formats write and read them: Unix seconds for Prometheus,
// RFC 3339 as Go prints it (to the second, and Go's RFC3339Nano for JSON) on the local or
// the UTC clock face, and the RFC 3339 parser the payload reader uses. Both directions go
// through one calendar, std::chrono's proleptic Gregorian one.
//
// Standard headers and POSIX localtime_r only, so that the payload reader stays free of
// {fmt}; the store does not include this header.
#pragma once

#include <time.h>  // localtime_r, tm_gmtoff (POSIX)

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "anklet/metrics/core/time.hpp"
#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/render/sink.hpp"

namespace anklet::metrics {

/// Which clock face times are shown on. Go Anklet prints times in the process's local
/// zone (its time.Now() carries time.Local), so `local` is the compatible default; `utc`
/// gives output that does not depend on the host's TZ.
enum class time_zone : std::uint8_t { local, utc };

/// Seconds since the Unix epoch, rounded down; `never` gives 0 (Prometheus' "no time").
[[nodiscard]] constexpr std::int64_t to_unix_seconds(time_point t) noexcept {
  return is_never(t) ? 0 : t.unix_seconds();
}

namespace detail {

// A time broken down on a clock face with a fixed UTC offset.
struct civil_time {
  std::int64_t year = 1;
  unsigned month = 1;
  unsigned day = 1;
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
  std::uint32_t nanosecond = 0;
  std::int32_t utc_offset_seconds = 0;
};

// The calendar of both directions: days since 1970-01-01 of a proleptic Gregorian date.
// A day past its month's end counts on into the next month, as C++20 defines for a
// year_month_day that is not ok() (the parser has always read 02-31 as 03-02 or 03-03).
[[nodiscard]] constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  using namespace std::chrono;
  return sys_days{year{static_cast<int>(y)} / month{m} / day{d}}.time_since_epoch().count();
}

// The local zone's UTC offset at `t` in seconds (POSIX localtime_r, which honours TZ
// as of the last tzset() call). 0 for `never`, like Go's zero time which is in UTC.
[[nodiscard]] inline std::int32_t local_utc_offset(time_point t) noexcept {
  if (is_never(t)) return 0;
  const auto secs = static_cast<time_t>(t.unix_seconds());
  struct tm tm_buf {};
  if (localtime_r(&secs, &tm_buf) == nullptr) return 0;
  return static_cast<std::int32_t>(tm_buf.tm_gmtoff);
}

// `t` on the clock face `utc_offset_seconds` east of UTC. `never` gives Go's zero time,
// 0001-01-01T00:00:00 at offset 0. RFC 3339 has four-digit years, so a face time
// before year 0000 or after 9999 is shown as the first or last instant of that range.
[[nodiscard]] inline civil_time to_civil(time_point t, std::int32_t utc_offset_seconds) noexcept {
  civil_time c;
  if (is_never(t)) return c;
  using namespace std::chrono;
  constexpr std::int64_t first_second = -62'167'219'200;  // 0000-01-01T00:00:00
  constexpr std::int64_t last_second = 253'402'300'799;   // 9999-12-31T23:59:59
  // Limited before the offset is added, so that the sum cannot overflow.
  std::int64_t local = std::clamp(t.unix_seconds(), 2 * first_second, 2 * last_second) + utc_offset_seconds;
  c.nanosecond = t.subsecond_nanoseconds();
  if (local < first_second) {
    local = first_second;
    c.nanosecond = 0;
  } else if (local > last_second) {
    local = last_second;
    c.nanosecond = 999'999'999;
  }
  std::int64_t days_since_epoch = local / 86400;
  std::int64_t sec_of_day = local % 86400;
  if (sec_of_day < 0) {
    sec_of_day += 86400;
    --days_since_epoch;
  }
  const year_month_day ymd{sys_days{days{days_since_epoch}}};
  c.year = static_cast<int>(ymd.year());
  c.month = static_cast<unsigned>(ymd.month());
  c.day = static_cast<unsigned>(ymd.day());
  c.hour = static_cast<unsigned>(sec_of_day / 3600);
  c.minute = static_cast<unsigned>(sec_of_day / 60 % 60);
  c.second = static_cast<unsigned>(sec_of_day % 60);
  c.utc_offset_seconds = utc_offset_seconds;
  return c;
}

// `t` on the chosen clock face.
[[nodiscard]] inline civil_time to_civil(time_point t, time_zone zone) noexcept {
  return to_civil(t, zone == time_zone::local ? local_utc_offset(t) : 0);
}

// Date and time up to the seconds, as Go's "2006-01-02T15:04:05". to_civil keeps years
// within 0000-9999; the clamp only guards a civil_time built by hand.
inline char* put_date_time(char* p, const civil_time& c) noexcept {
  const auto y = static_cast<unsigned>(c.year < 0 ? 0 : c.year > 9999 ? 9999 : c.year);
  p = put2(p, y / 100);
  p = put2(p, y % 100);
  *p++ = '-';
  p = put2(p, c.month);
  *p++ = '-';
  p = put2(p, c.day);
  *p++ = 'T';
  p = put2(p, c.hour);
  *p++ = ':';
  p = put2(p, c.minute);
  *p++ = ':';
  return put2(p, c.second);
}

// Go's "Z07:00": Z for a zero offset, else the sign and hours:minutes (seconds of the
// offset are dropped, and the sign follows the truncated minutes, as Go does).
inline char* put_offset(char* p, std::int32_t offset_seconds) noexcept {
  if (offset_seconds == 0) {
    *p++ = 'Z';
    return p;
  }
  std::int32_t minutes = offset_seconds / 60;
  if (minutes < 0) {
    *p++ = '-';
    minutes = -minutes;
  } else {
    *p++ = '+';
  }
  p = put2(p, static_cast<unsigned>(minutes / 60));
  *p++ = ':';
  return put2(p, static_cast<unsigned>(minutes % 60));
}

// Go's ".999999999": the fraction with trailing zeros dropped, nothing for zero.
inline char* put_fraction(char* p, std::uint32_t nanosecond) noexcept {
  if (nanosecond == 0) return p;
  *p++ = '.';
  const std::uint32_t ns = nanosecond % 1000000000u;
  p[0] = static_cast<char>('0' + ns / 100000000u);
  put2(p + 1, ns / 1000000u % 100u);
  put2(p + 3, ns / 10000u % 100u);
  put2(p + 5, ns / 100u % 100u);
  put2(p + 7, ns % 100u);
  std::size_t n = 9;  // ns != 0, so some digit is not '0'
  while (p[n - 1] == '0') --n;
  return p + n;
}

// Go's `Format(time.RFC3339)` of a broken-down time: seconds precision, fraction dropped.
template <char_sink Sink>
void write_rfc3339(Sink& s, const civil_time& c) {
  detail::write_formatted<32>(s, [&c](char* p) { return detail::put_offset(detail::put_date_time(p, c), c.utc_offset_seconds); });
}

// Go's `Format(time.RFC3339Nano)`, which is also how encoding/json writes a time:
// nanoseconds with trailing zeros removed, and no fraction at all when it is zero.
template <char_sink Sink>
void write_rfc3339_nano(Sink& s, const civil_time& c) {
  detail::write_formatted<48>(s, [&c](char* p) {
    p = detail::put_fraction(detail::put_date_time(p, c), c.nanosecond);
    return detail::put_offset(p, c.utc_offset_seconds);
  });
}

}  // namespace detail

/// RFC 3339 to the second on the chosen clock face; `never` -> `0001-01-01T00:00:00Z`.
template <char_sink Sink>
void write_rfc3339(Sink& s, time_point t, time_zone zone) {
  detail::write_rfc3339(s, detail::to_civil(t, zone));
}

/// Go's JSON time form on the chosen clock face; `never` -> `0001-01-01T00:00:00Z`.
template <char_sink Sink>
void write_rfc3339_nano(Sink& s, time_point t, time_zone zone) {
  detail::write_rfc3339_nano(s, detail::to_civil(t, zone));
}

/// Convenience: RFC 3339 to the second as a string.
[[nodiscard]] inline std::string to_rfc3339(time_point t, time_zone zone = time_zone::local) {
  std::string out;
  text_sink sink(std::back_inserter(out));
  write_rfc3339(sink, t, zone);
  return out;
}

/// Convenience: Go's JSON time form as a string.
[[nodiscard]] inline std::string to_rfc3339_nano(time_point t, time_zone zone = time_zone::local) {
  std::string out;
  text_sink sink(std::back_inserter(out));
  write_rfc3339_nano(sink, t, zone);
  return out;
}

// ---- reading ------------------------------------------------------------------------

/// A time as a payload carried it: the instant plus the UTC offset it was written with, so
/// the aggregator can print it back the way Go would (same offset, seconds precision).
struct zoned_time {
  time_point instant = never;
  std::int32_t offset_seconds = 0;  ///< east of UTC
  friend bool operator==(const zoned_time&, const zoned_time&) = default;
};

namespace detail {

// Exactly `n` digits at `pos`.
inline bool parse_digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) noexcept {
  return pos + n <= s.size() && parse_unsigned(s.substr(pos, n), ~0u, out);
}

}  // namespace detail

/// Parses an RFC 3339 time (`2024-01-15T10:30:00.123456789+02:00`, `...Z`), any year from
/// 0000 to 9999 at full precision. Go's zero time (0001-01-01T00:00:00Z, at any offset)
/// reads as `never`. Returns false on a malformed string.
inline bool parse_rfc3339(std::string_view s, zoned_time& out) noexcept {
  unsigned year, month, day, hour, minute, second;
  if (!detail::parse_digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !detail::parse_digits(s, 5, 2, month) ||
      s[7] != '-' || !detail::parse_digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !detail::parse_digits(s, 11, 2, hour) || s[13] != ':' || !detail::parse_digits(s, 14, 2, minute) ||
      s[16] != ':' || !detail::parse_digits(s, 17, 2, second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return false;
  std::size_t pos = 19;
  std::int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) nanos = nanos * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return false;
    for (std::size_t i = digits; i < 9; ++i) nanos *= 10;
  }
  std::int32_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const bool negative = s[pos] == '-';
    unsigned oh, om;
    if (!detail::parse_digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !detail::parse_digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return false;
    }
    offset = static_cast<std::int32_t>(oh * 3600 + om * 60) * (negative ? -1 : 1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  out.offset_seconds = offset;
  const std::int64_t days = detail::days_from_civil(year, month, day);
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset;
  out.instant = time_point::from_unix(secs, nanos);
  return true;
}

}  // namespace anklet::metrics
