// anklet::metrics rendering toolkit: what the Prometheus, Anklet-text and JSON renderers
// share, and what the aggregator reuses: a fast append-only text sink over any output
// iterator, RFC 3339 time formatting as Go prints it, Unix seconds, Prometheus label
// escaping, Go-compatible JSON string escaping and the plugin_status state-set writer.
//
// Everything here is locale-independent: numbers go through {fmt} without the `L`
// specifier, never through iostreams or printf. Nothing allocates on the heap except a
// sink's own container as it grows and prometheus_label_sets' storage.
#pragma once

#include <time.h>  // localtime_r, tm_gmtoff (POSIX)

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "anklet/metrics/core/status.hpp"
#include "anklet/metrics/core/time.hpp"
#include "anklet/metrics/detail/text.hpp"

namespace anklet::metrics {

/// Which clock face times are shown on. Go Anklet prints times in the process's local
/// zone (its time.Now() carries time.Local), so `local` is the compatible default; `utc`
/// gives output that does not depend on the host's TZ.
enum class time_zone : std::uint8_t { local, utc };

namespace detail {

// Reaches the container behind a back_insert_iterator (its `container` member is
// protected, so a derived class is the portable way in). Deduction also accepts classes
// derived from back_insert_iterator, such as fmt 9's fmt::appender.
template <class C>
C* back_insert_container(std::back_insert_iterator<C>* it) noexcept {
  struct access : std::back_insert_iterator<C> {
    static C* get(std::back_insert_iterator<C>& i) noexcept { return i.*(&access::container); }
  };
  return access::get(*it);
}

template <class C>
concept appendable_char_container = requires(C& c, const char* p) { c.append(p, p); } ||
                                    requires(C& c, const char* p) { c.insert(c.end(), p, p); };

template <class C>
void bulk_append(C& c, const char* first, const char* last) {
  // std::string's (pointer, count) append is its direct path; its iterator-pair append
  // goes through replace(), where GCC 12 at -O3 reports false -Wrestrict overlaps.
  if constexpr (requires(std::size_t n) { c.append(first, n); }) {
    c.append(first, static_cast<std::size_t>(last - first));
  } else if constexpr (requires { c.append(first, last); }) {
    c.append(first, last);
  } else {
    c.insert(c.end(), first, last);
  }
}

template <class Out>
concept has_bulk_container = requires(Out& o) {
  { detail::back_insert_container(&o) };
} && appendable_char_container<std::remove_pointer_t<decltype(detail::back_insert_container(std::declval<Out*>()))>>;

}  // namespace detail

/// What the writers below accept: something that appends chars. text_sink and
/// buffer_sink model it; so can a user's own type.
template <class S>
concept char_sink = requires(S& s, std::string_view sv, const char* p, char c) {
  s.write(sv);
  s.write(p, p);
  s.put(c);
};

/// An append-only text sink over an output iterator. When the iterator is a
/// back_insert_iterator of a contiguous char container (std::string, std::vector<char>,
/// fmt::memory_buffer, ...) every write is one bulk append to that container; any other
/// iterator is written through char by char. The container is always consistent: what
/// was written is in it at once. No virtual calls, no allocation of its own.
template <class Out>
class text_sink {
 public:
  explicit text_sink(Out out) : out_(std::move(out)) {}

  void write(std::string_view s) { out_ = std::copy(s.begin(), s.end(), std::move(out_)); }
  void write(const char* first, const char* last) { out_ = std::copy(first, last, std::move(out_)); }
  void put(char c) {
    *out_ = c;
    ++out_;
  }
  /// The iterator past everything written.
  [[nodiscard]] Out out() && { return std::move(out_); }

 private:
  Out out_;
};

template <class Out>
  requires detail::has_bulk_container<Out>
class text_sink<Out> {
 public:
  explicit text_sink(Out out) : out_(std::move(out)), c_(detail::back_insert_container(&out_)) {}

  void write(std::string_view s) { detail::bulk_append(*c_, s.data(), s.data() + s.size()); }
  void write(const char* first, const char* last) { detail::bulk_append(*c_, first, last); }
  void put(char c) { c_->push_back(c); }
  [[nodiscard]] Out out() && { return std::move(out_); }

 private:
  Out out_;
  std::remove_pointer_t<decltype(detail::back_insert_container(std::declval<Out*>()))>* c_;
};

namespace detail {

// Kept out of line so that compilers do not check it against the small source buffers
// of the inlined callers (the path is only taken for longer sources).
[[gnu::noinline]] inline void copy_long(char* dst, const char* src, std::size_t n) noexcept { std::memcpy(dst, src, n); }

// GCC's object-size warnings cannot see that each branch below only runs for sources at
// least as long as it reads, when this is inlined next to a small stack buffer.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overread"
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif
// Most pieces of a metrics line are a few bytes long, where a call to memcpy costs more
// than the copy: up to 64 bytes are moved with fixed-size (inlined) overlapping copies.
[[gnu::always_inline]] inline void copy_short(char* dst, const char* src, std::size_t n) noexcept {
  if (n >= 8) {
    if (n <= 16) {
      std::memcpy(dst, src, 8);
      std::memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n <= 32) {
      std::memcpy(dst, src, 16);
      std::memcpy(dst + n - 16, src + n - 16, 16);
    } else if (n <= 64) {
      std::memcpy(dst, src, 32);
      std::memcpy(dst + n - 32, src + n - 32, 32);
    } else {
      copy_long(dst, src, n);
    }
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else if (n != 0) {
    dst[0] = src[0];
    dst[n / 2] = src[n / 2];
    dst[n - 1] = src[n - 1];
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace detail

/// A char container that buffer_sink can write into: resizable, with contiguous data()
/// (std::string, std::vector<char>, fmt::memory_buffer).
template <class C>
concept resizable_char_buffer = requires(C& c, std::size_t n) {
  c.resize(n);
  { c.data() } -> std::same_as<char*>;
  { c.size() } -> std::convertible_to<std::size_t>;
};

/// The fastest sink: appends to a resizable char container by writing straight into its
/// storage, growing it geometrically ahead of the writes. While the sink lives the
/// container may hold spare bytes past the written text; finish() (or the destructor)
/// trims it, so read the container only after either. Also exception safe: the container
/// ends with exactly the pieces written before a throw.
template <resizable_char_buffer C>
class buffer_sink {
 public:
  explicit buffer_sink(C& c) : c_(c) {
    const std::size_t used = c_.size();
    std::size_t room = used + initial_headroom;
    if constexpr (requires { c.capacity(); }) room = std::max<std::size_t>(room, c.capacity());  // reserved space
    c_.resize(room);
    cur_ = c_.data() + used;
    end_ = c_.data() + c_.size();
  }
  buffer_sink(const buffer_sink&) = delete;
  buffer_sink& operator=(const buffer_sink&) = delete;
  ~buffer_sink() { finish(); }

  [[gnu::always_inline]] void write(std::string_view s) { write(s.data(), s.data() + s.size()); }
  [[gnu::always_inline]] void write(const char* first, const char* last) {
    const auto n = static_cast<std::size_t>(last - first);
    if (n > static_cast<std::size_t>(end_ - cur_)) grow(n);
    detail::copy_short(cur_, first, n);
    cur_ += n;
  }
  [[gnu::always_inline]] void put(char ch) {
    if (cur_ == end_) grow(1);
    *cur_++ = ch;
  }
  /// Room for `n` bytes written straight into the container: write at most `n` bytes
  /// from the returned pointer, then call commit() with the end of what was written.
  [[gnu::always_inline]] char* claim(std::size_t n) {
    if (n > static_cast<std::size_t>(end_ - cur_)) grow(n);
    return cur_;
  }
  [[gnu::always_inline]] void commit(char* end) noexcept { cur_ = end; }
  /// Bytes in the container that hold text (what it had before plus what was written).
  [[nodiscard]] std::size_t size() const noexcept { return written(); }
  /// Trims the container to what was written. Writing again afterwards is allowed.
  void finish() {
    const std::size_t used = written();
    c_.resize(used);
    cur_ = c_.data() + used;
    end_ = cur_;
  }

 private:
  static constexpr std::size_t initial_headroom = 4096;

  std::size_t written() const noexcept { return static_cast<std::size_t>(cur_ - c_.data()); }

  [[gnu::noinline]] void grow(std::size_t n) {
    const std::size_t used = written();
    const std::size_t size = c_.size();
    c_.resize(std::max(used + n, size + size / 2 + initial_headroom));
    cur_ = c_.data() + used;
    end_ = c_.data() + c_.size();
  }

  C& c_;
  char* cur_;
  char* end_;
};

namespace detail {
template <class Out>
struct resizable_target : std::false_type {};
template <resizable_char_buffer C>
struct resizable_target<std::back_insert_iterator<C>> : std::true_type {
  using container = C;
};
}  // namespace detail

/// Runs `body(sink)` with the fastest sink for `out` (a buffer_sink for a
/// back_insert_iterator of a resizable char container, else a text_sink) and returns
/// the iterator past the written text. The renderers are built on it.
template <class Out, class Body>
Out write_through(Out out, Body&& body) {
  if constexpr (detail::resizable_target<Out>::value) {
    auto& c = *detail::back_insert_container(&out);
    {
      buffer_sink<typename detail::resizable_target<Out>::container> s(c);
      body(s);
    }
    return out;
  } else {
    text_sink<Out> s(std::move(out));
    body(s);
    return std::move(s).out();
  }
}

// ---- numbers -----------------------------------------------------------------------

namespace detail {

// Runs `fill(char*) -> char*` on room for `max` chars: straight in the sink's storage
// when it offers that (no copy, and no stall from re-reading bytes just stored), else on
// a stack buffer that is then written.
template <std::size_t max, char_sink Sink, class Fill>
void write_formatted(Sink& s, Fill&& fill) {
  if constexpr (requires { s.claim(std::size_t{}); }) {
    s.commit(fill(s.claim(max)));
  } else {
    char buf[max];
    s.write(buf, fill(static_cast<char*>(buf)));
  }
}

}  // namespace detail

/// Unsigned decimal.
template <char_sink Sink>
void write_uint(Sink& s, std::uint64_t v) {
  detail::write_formatted<24>(s, [v](char* p) { return fmt::format_to(p, FMT_COMPILE("{}"), v); });
}

/// Signed decimal.
template <char_sink Sink>
void write_int(Sink& s, std::int64_t v) {
  detail::write_formatted<24>(s, [v](char* p) { return fmt::format_to(p, FMT_COMPILE("{}"), v); });
}

namespace detail {
// The longest shortest form, -2.2250738585072014e-308, is 24 chars.
template <char_sink Sink>
void write_double_shortest(Sink& s, double v) {
  write_formatted<32>(s, [v](char* p) { return fmt::format_to(p, FMT_COMPILE("{}"), v); });
}
}  // namespace detail

/// A sample value for Prometheus: the shortest text that reads back to the same double;
/// NaN and the infinities in the spelling the exposition format defines.
template <char_sink Sink>
void write_prometheus_double(Sink& s, double v) {
  if (std::isnan(v)) return s.write("NaN");
  if (std::isinf(v)) return s.write(v > 0 ? std::string_view("+Inf") : std::string_view("-Inf"));
  detail::write_double_shortest(s, v);
}

namespace detail {

// Go's encoding/json float64: the shortest digits that read back to the same double, laid
// out in plain decimal for 1e-6 <= |v| < 1e21 (and zero), otherwise as d.ddde-7 / d.ddde+21
// (no leading zero in a negative exponent). {fmt} finds the digits; only the layout is ours.
inline char* put_go_json_float(char* p, double v) noexcept {
  // The shortest round-trip form from {fmt}: [-]d[.ddd][e±XX] or plain [-]ddd[.ddd].
  char digits_buf[32];
  char* const shortest_end = fmt::format_to(digits_buf, FMT_COMPILE("{}"), v);
  const char* q = digits_buf;
  if (*q == '-') {
    *p++ = '-';
    ++q;
  }
  char digits[24];
  int ndigits = 0;
  int point = -1;  // digits before the decimal point, as written
  int exponent = 0;
  for (; q < shortest_end; ++q) {
    if (*q >= '0' && *q <= '9') {
      if (ndigits < 24) digits[ndigits++] = *q;
    } else if (*q == '.') {
      point = ndigits;
    } else if (*q == 'e') {
      ++q;
      const bool negative = *q == '-';
      if (*q == '-' || *q == '+') ++q;
      for (; q < shortest_end; ++q) exponent = exponent * 10 + (*q - '0');
      if (negative) exponent = -exponent;
      break;
    }
  }
  if (point < 0) point = ndigits;
  // Normalise to significant digits d1 d2 ... with the value 0.d1d2... x 10^decimal_point.
  int first = 0;
  while (first < ndigits - 1 && digits[first] == '0') {
    ++first;
    --point;
  }
  int last = ndigits;
  while (last > first + 1 && digits[last - 1] == '0') --last;
  const int decimal_point = point + exponent;  // position of the point after digits[first]
  const int n = last - first;
  const char* d = digits + first;
  const double magnitude = v < 0 ? -v : v;
  if (magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e21)) {
    if (magnitude == 0) {
      *p++ = '0';
    } else if (decimal_point <= 0) {
      *p++ = '0';
      *p++ = '.';
      for (int i = decimal_point; i < 0; ++i) *p++ = '0';
      for (int i = 0; i < n; ++i) *p++ = d[i];
    } else {
      for (int i = 0; i < std::max(n, decimal_point); ++i) {
        if (i == decimal_point) *p++ = '.';
        *p++ = i < n ? d[i] : '0';
      }
    }
    return p;
  }
  *p++ = d[0];
  if (n > 1) {
    *p++ = '.';
    for (int i = 1; i < n; ++i) *p++ = d[i];
  }
  // strconv writes at least two exponent digits; encoding/json then drops the zero of
  // e-07, so only a positive exponent keeps two.
  const int e = decimal_point - 1;
  const int magnitude_e = e < 0 ? -e : e;
  *p++ = 'e';
  *p++ = e < 0 ? '-' : '+';
  if (magnitude_e >= 100) *p++ = static_cast<char>('0' + magnitude_e / 100);
  if (magnitude_e >= 10 || e > 0) *p++ = static_cast<char>('0' + magnitude_e / 10 % 10);
  *p++ = static_cast<char>('0' + magnitude_e % 10);
  return p;
}

}  // namespace detail

/// A JSON number exactly as Go's encoding/json writes a float64 (`0.00001`, `5e-7`,
/// `100000000000000000000`, `1e+21`, `-0`), so that our payloads and aggregator answers
/// match Go's byte for byte. JSON has no NaN or infinity (Go's encoder refuses them and
/// writes nothing at all); we write 0 so that the document stays valid and the field keeps
/// its numeric type.
template <char_sink Sink>
void write_json_double(Sink& s, double v) {
  if (!std::isfinite(v)) return s.put('0');
  detail::write_formatted<40>(s, [v](char* p) { return detail::put_go_json_float(p, v); });
}

/// Go's `%f`: six decimals, `NaN`, `+Inf`, `-Inf`.
template <char_sink Sink>
void write_go_fixed6(Sink& s, double v) {
  if (std::isnan(v)) return s.write("NaN");
  if (std::isinf(v)) return s.write(v > 0 ? std::string_view("+Inf") : std::string_view("-Inf"));
  // 1e308 with six decimals needs 316 characters; format_to_n would truncate silently,
  // so claim room that always fits.
  detail::write_formatted<400>(s, [v](char* p) { return fmt::format_to(p, FMT_COMPILE("{:.6f}"), v); });
}

// ---- time ------------------------------------------------------------------------

/// A time broken down on a clock face with a fixed UTC offset.
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

/// Seconds since the Unix epoch, rounded down; `never` gives 0 (Prometheus' "no time").
[[nodiscard]] constexpr std::int64_t to_unix_seconds(time_point t) noexcept {
  return is_never(t) ? 0 : t.unix_seconds();
}

/// The local zone's UTC offset at `t` in seconds (POSIX localtime_r, which honours TZ
/// as of the last tzset() call). 0 for `never`, like Go's zero time which is in UTC.
[[nodiscard]] inline std::int32_t local_utc_offset(time_point t) noexcept {
  if (is_never(t)) return 0;
  const auto secs = static_cast<time_t>(t.unix_seconds());
  struct tm tm_buf {};
  if (localtime_r(&secs, &tm_buf) == nullptr) return 0;
  return static_cast<std::int32_t>(tm_buf.tm_gmtoff);
}

/// `t` on the clock face `utc_offset_seconds` east of UTC. `never` gives Go's zero time,
/// 0001-01-01T00:00:00 at offset 0. RFC 3339 has four-digit years, so a face time
/// before year 0000 or after 9999 is shown as the first or last instant of that range.
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

/// `t` on the chosen clock face.
[[nodiscard]] inline civil_time to_civil(time_point t, time_zone zone) noexcept {
  return to_civil(t, zone == time_zone::local ? local_utc_offset(t) : 0);
}

namespace detail {

inline constexpr char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// Two decimal digits of v (0-99).
inline char* put2(char* p, unsigned v) noexcept {
  std::memcpy(p, digit_pairs + 2 * (v % 100), 2);
  return p + 2;
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

}  // namespace detail

namespace detail {

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

}  // namespace detail

/// Go's `Format(time.RFC3339)` of a broken-down time: seconds precision, fraction dropped.
template <char_sink Sink>
void write_rfc3339(Sink& s, const civil_time& c) {
  detail::write_formatted<32>(s, [&c](char* p) { return detail::put_offset(detail::put_date_time(p, c), c.utc_offset_seconds); });
}

/// Go's `Format(time.RFC3339Nano)`, which is also how encoding/json writes a time:
/// nanoseconds with trailing zeros removed, and no fraction at all when it is zero.
template <char_sink Sink>
void write_rfc3339_nano(Sink& s, const civil_time& c) {
  detail::write_formatted<48>(s, [&c](char* p) {
    p = detail::put_fraction(detail::put_date_time(p, c), c.nanosecond);
    return detail::put_offset(p, c.utc_offset_seconds);
  });
}

/// RFC 3339 to the second on the chosen clock face; `never` -> `0001-01-01T00:00:00Z`.
template <char_sink Sink>
void write_rfc3339(Sink& s, time_point t, time_zone zone) {
  write_rfc3339(s, to_civil(t, zone));
}

/// Go's JSON time form on the chosen clock face; `never` -> `0001-01-01T00:00:00Z`.
template <char_sink Sink>
void write_rfc3339_nano(Sink& s, time_point t, time_zone zone) {
  write_rfc3339_nano(s, to_civil(t, zone));
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

// ---- UTF-8 -------------------------------------------------------------------------

namespace detail {

inline constexpr std::string_view utf8_replacement = "\xEF\xBF\xBD";  // U+FFFD

// Word-at-a-time scanning: label values and JSON strings are nearly always plain ASCII,
// so 8 bytes are checked at once and only a word holding a byte of interest is looked
// at byte by byte.
inline constexpr std::uint64_t ones = 0x0101010101010101ull;
inline constexpr std::uint64_t highs = 0x8080808080808080ull;

// Non-zero when some byte of w equals c.
constexpr std::uint64_t has_byte(std::uint64_t w, unsigned char c) noexcept {
  const std::uint64_t x = w ^ (ones * c);
  return (x - ones) & ~x & highs;
}

inline std::uint64_t load8(const unsigned char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// Index of the first byte at or after i that a Prometheus label value must look at:
// non-ASCII, backslash, quote or newline (or a position within 8 bytes of n).
inline std::size_t skip_plain_label_bytes(const unsigned char* p, std::size_t i, std::size_t n) noexcept {
  while (i + 8 <= n) {
    const std::uint64_t w = load8(p + i);
    if (((w & highs) | has_byte(w, '\\') | has_byte(w, '"') | has_byte(w, '\n')) != 0) break;
    i += 8;
  }
  return i;
}

// The same for JSON strings: non-ASCII, control characters, `"`, `\`, `<`, `>`, `&`.
inline std::size_t skip_plain_json_bytes(const unsigned char* p, std::size_t i, std::size_t n) noexcept {
  while (i + 8 <= n) {
    const std::uint64_t w = load8(p + i);
    const std::uint64_t control = (w - ones * 0x20) & ~w & highs;  // some byte below 0x20
    if (((w & highs) | control | has_byte(w, '"') | has_byte(w, '\\') | has_byte(w, '<') | has_byte(w, '>') |
         has_byte(w, '&')) != 0) {
      break;
    }
    i += 8;
  }
  return i;
}

}  // namespace detail

// ---- Prometheus --------------------------------------------------------------------

/// A label value's inside (no quotes): `\` -> `\\`, `"` -> `\"`, newline -> `\n`; bytes
/// that are not valid UTF-8 become U+FFFD, since Prometheus rejects invalid UTF-8.
template <char_sink Sink>
void write_prometheus_label_value(Sink& s, std::string_view v) {
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  const std::size_t n = v.size();
  std::size_t run = 0;  // start of bytes not yet written
  std::size_t i = 0;
  while (i < n) {
    i = detail::skip_plain_label_bytes(p, i, n);
    if (i >= n) break;
    const unsigned char b = p[i];
    if (b >= 0x80) {
      const std::size_t len = detail::utf8_sequence_length(p + i, n - i);
      if (len != 0) {
        i += len;
        continue;
      }
      s.write(v.data() + run, v.data() + i);
      s.write(detail::utf8_replacement);
      run = ++i;
      continue;
    }
    if (b == '\\' || b == '"' || b == '\n') {
      s.write(v.data() + run, v.data() + i);
      s.put('\\');
      s.put(b == '\n' ? 'n' : static_cast<char>(b));
      run = ++i;
      continue;
    }
    ++i;
  }
  s.write(v.data() + run, v.data() + n);
}

/// `name="value"` with the value escaped.
template <char_sink Sink>
void write_prometheus_label(Sink& s, std::string_view name, std::string_view value) {
  s.write(name);
  s.write("=\"");
  write_prometheus_label_value(s, value);
  s.put('"');
}

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
/// `labels` is the plugin's own label set, already escaped and comma separated, not
/// empty (see prometheus_label_sets).
template <char_sink Sink>
void write_status_state_set(Sink& s, std::string_view family, std::string_view labels, std::string_view current) {
  bool known = false;
  for (std::size_t i = 0; i < all_statuses.size(); ++i) {
    const bool is_current = to_string(all_statuses[i]) == current;
    known = known || is_current;
    s.write(family);
    s.put('{');
    s.write(labels);
    s.write(detail::state_tails.get(i, is_current));
  }
  if (!known) {
    s.write(family);
    s.put('{');
    s.write(labels);
    s.put(',');
    write_prometheus_label(s, "status", current);
    s.write("} 1\n");
  }
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

/// The same, with the plugin's labels written by `write_labels(sink)` (comma separated,
/// at least one) on every line instead of copied from a pre-escaped set.
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

/// Label sets escaped once and copied into many sample lines: a plugin's labels appear
/// in up to 15 series, and escaping them once per render instead of once per line is
/// most of the renderer's speed. Reuse one object across renders to keep its storage.
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

// ---- JSON --------------------------------------------------------------------------

/// A JSON string, quotes included, escaped exactly as Go's encoding/json does by default
/// (Go 1.22 and later, which Anklet requires): `\"` `\\` `\n` `\r` `\t` `\b` `\f`, other
/// control characters as `\u00XX`, `<` `>` `&` as `\u003c` `\u003e` `\u0026`, U+2028 and
/// U+2029 as `\u2028` `\u2029`, and each byte that is not valid UTF-8 as U+FFFD. Go's single
/// Marshal would write that U+FFFD as the escape `\ufffd`; Anklet's payload goes through
/// Marshal, Unmarshal and Marshal again, and its aggregator re-encodes decoded strings, so
/// on the wire it is the character itself, which is what we write.
template <char_sink Sink>
void write_json_string(Sink& s, std::string_view v) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  const std::size_t n = v.size();
  std::size_t run = 0;
  std::size_t i = 0;
  s.put('"');
  while (i < n) {
    i = detail::skip_plain_json_bytes(p, i, n);
    if (i >= n) break;
    const unsigned char b = p[i];
    if (b >= 0x80) {
      const std::size_t len = detail::utf8_sequence_length(p + i, n - i);
      if (len == 3 && b == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) {
        s.write(v.data() + run, v.data() + i);
        s.write(p[i + 2] == 0xA8 ? std::string_view("\\u2028") : std::string_view("\\u2029"));
        i += 3;
        run = i;
        continue;
      }
      if (len != 0) {
        i += len;
        continue;
      }
      s.write(v.data() + run, v.data() + i);
      s.write(detail::utf8_replacement);
      run = ++i;
      continue;
    }
    if (b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&') {
      ++i;
      continue;
    }
    s.write(v.data() + run, v.data() + i);
    switch (b) {
      case '"': s.write("\\\""); break;
      case '\\': s.write("\\\\"); break;
      case '\n': s.write("\\n"); break;
      case '\r': s.write("\\r"); break;
      case '\t': s.write("\\t"); break;
      case '\b': s.write("\\b"); break;
      case '\f': s.write("\\f"); break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', hex[b >> 4], hex[b & 0xF]};
        s.write(esc, esc + 6);
      }
    }
    run = ++i;
  }
  s.write(v.data() + run, v.data() + n);
  s.put('"');
}

}  // namespace anklet::metrics
