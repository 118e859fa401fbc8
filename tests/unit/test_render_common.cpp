// The shared rendering pieces: sinks, numbers, times, escaping, the status state set.
#include "anklet/metrics/render/common.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "render_fixtures.hpp"
#include "tz_guard.hpp"

using namespace anklet::metrics;
using anklet_test::at;
using anklet_test::tz_guard;

namespace {

template <class F>
std::string render(F&& f) {
  std::string out;
  text_sink s(std::back_inserter(out));
  f(s);
  return out;
}

std::string label_value(std::string_view v) {
  return render([&](auto& s) { write_prometheus_label_value(s, v); });
}
std::string json_string(std::string_view v) {
  return render([&](auto& s) { write_json_string(s, v); });
}
std::string prom_double(double v) {
  return render([&](auto& s) { write_prometheus_double(s, v); });
}
std::string json_double(double v) {
  return render([&](auto& s) { write_json_double(s, v); });
}
std::string go_f(double v) {
  return render([&](auto& s) { detail::write_go_fixed6(s, v); });
}

}  // namespace

TEST_CASE("back_insert_iterators of contiguous containers take the bulk path") {
  static_assert(detail::has_bulk_container<std::back_insert_iterator<std::string>>);
  static_assert(detail::has_bulk_container<std::back_insert_iterator<std::vector<char>>>);
  static_assert(detail::has_bulk_container<std::back_insert_iterator<fmt::memory_buffer>>);
#if FMT_VERSION < 110000  // fmt 11 made appender its own type, written through char by char
  static_assert(detail::has_bulk_container<fmt::appender>);
#endif
  static_assert(!detail::has_bulk_container<char*>);
  static_assert(!detail::has_bulk_container<std::ostreambuf_iterator<char>>);

  const auto write_all = [](auto& s) {
    s.write("ab");
    s.put('c');
    write_uint(s, 18446744073709551615u);
    write_int(s, -42);
  };
  const std::string expected = "abc18446744073709551615-42";
  CHECK(render(write_all) == expected);

  std::vector<char> v;
  {
    text_sink s(std::back_inserter(v));
    write_all(s);
  }
  CHECK(std::string(v.begin(), v.end()) == expected);

  fmt::memory_buffer mb;
  {
    text_sink s(std::back_inserter(mb));
    write_all(s);
  }
  CHECK(fmt::to_string(mb) == expected);

  fmt::memory_buffer mb2;
  {
    text_sink s{fmt::appender(mb2)};
    write_all(s);
  }
  CHECK(fmt::to_string(mb2) == expected);

  std::ostringstream os;
  {
    text_sink s{std::ostreambuf_iterator<char>(os)};
    write_all(s);
  }
  CHECK(os.str() == expected);

  char buf[64] = {};
  text_sink s(static_cast<char*>(buf));
  write_all(s);
  char* end = std::move(s).out();
  CHECK(std::string(buf, end) == expected);
}

TEST_CASE("integers: every digit count and its edges, as std::to_chars writes them") {
  const auto expect_same = [](auto v) {
    char want[32];
    const auto [end, ec] = std::to_chars(want, want + sizeof want, v);
    REQUIRE(ec == std::errc{});
    CAPTURE(v);
    CHECK(render([v](auto& s) {
            if constexpr (std::is_signed_v<decltype(v)>) write_int(s, v);
            else write_uint(s, v);
          }) == std::string(want, end));
  };
  // Each power of ten and its neighbours: where the digit count, and the writer's branch,
  // changes.
  std::uint64_t power = 1;
  for (int digits = 1; digits <= 20; ++digits) {
    for (const std::uint64_t v : {power - 1, power, power + 1, power * 2 - 1, power * 5, power * 9 + 7}) {
      expect_same(v);
      const auto signed_v = static_cast<std::int64_t>(v);
      if (signed_v >= 0) {
        expect_same(signed_v);
        expect_same(-signed_v);
      }
    }
    if (digits < 20) power *= 10;
  }
  expect_same(std::numeric_limits<std::uint64_t>::max());
  expect_same(std::numeric_limits<std::int64_t>::max());
  expect_same(std::numeric_limits<std::int64_t>::min());
  // Values with zeros inside, which the fixed-width chunks must keep.
  for (const std::uint64_t v : {100000001ULL, 1000000000000000001ULL, 10000000100000000ULL, 1700000000ULL,
                                12000034000056ULL, 18446744073709551600ULL}) {
    expect_same(v);
  }
  std::uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    // Spread over every magnitude, not just the 19- and 20-digit numbers most values have.
    const std::uint64_t v = x >> (x % 64);
    expect_same(v);
    expect_same(static_cast<std::int64_t>(v));
  }
}

TEST_CASE("doubles: shortest for Prometheus and JSON, six decimals as Go's %f") {
  CHECK(prom_double(0) == "0");
  CHECK(prom_double(12.5) == "12.5");
  CHECK(prom_double(12.371134020618557) == "12.371134020618557");
  CHECK(prom_double(0.1) == "0.1");
  CHECK(prom_double(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(prom_double(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(prom_double(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(std::stod(prom_double(1.0 / 3)) == 1.0 / 3);

  CHECK(json_double(0) == "0");
  CHECK(json_double(12.5) == "12.5");
  CHECK(json_double(100) == "100");
  CHECK(json_double(std::numeric_limits<double>::quiet_NaN()) == "0");
  CHECK(json_double(std::numeric_limits<double>::infinity()) == "0");
  // Go's encoding/json spelling: plain decimal for 1e-6 <= |v| < 1e21, else an exponent
  // without a leading zero (these are what Go 1.19-1.23 print for the same doubles).
  CHECK(json_double(1e-6) == "0.000001");
  CHECK(json_double(9.99999e-7) == "9.99999e-7");
  CHECK(json_double(5e-7) == "5e-7");
  CHECK(json_double(-5e-7) == "-5e-7");
  CHECK(json_double(1e-5) == "0.00001");
  CHECK(json_double(1.5e-10) == "1.5e-10");
  CHECK(json_double(2.5e-100) == "2.5e-100");
  CHECK(json_double(5e-324) == "5e-324");
  CHECK(json_double(1e20) == "100000000000000000000");
  CHECK(json_double(9.999999999999999e20) == "999999999999999900000");
  CHECK(json_double(1e21) == "1e+21");
  CHECK(json_double(-1e21) == "-1e+21");
  CHECK(json_double(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(json_double(-0.0) == "-0");
  CHECK(json_double(50) == "50");
  CHECK(json_double(1234567) == "1234567");
  CHECK(json_double(123456789012345678.0) == "123456789012345680");
  CHECK(json_double(-12.5) == "-12.5");
  CHECK(json_double(0.1) == "0.1");

  CHECK(go_f(12.371134020618557) == "12.371134");
  CHECK(go_f(50) == "50.000000");
  CHECK(go_f(0) == "0.000000");
  CHECK(go_f(-0.0) == "-0.000000");
  CHECK(go_f(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(go_f(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(go_f(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(go_f(std::numeric_limits<double>::max()).size() == 309 + 7);
}

TEST_CASE("Unix seconds: floor, and 0 for never") {
  CHECK(to_unix_seconds(never) == 0);
  CHECK(to_unix_seconds(at(0)) == 0);
  CHECK(to_unix_seconds(at(1705314600, 999999999)) == 1705314600);
  CHECK(to_unix_seconds(at(-2, 500000000)) == -2);  // -1.5 s rounds down
  // Go's whole range, not only the years 1678-2261 of a nanosecond sys_time.
  CHECK(to_unix_seconds(never + std::chrono::nanoseconds{1}) == -62135596800);
  CHECK(to_unix_seconds(never - std::chrono::seconds{1}) == -62135596801);
  CHECK(to_unix_seconds(time_point::from_unix(253402300799, 999999999)) == 253402300799);
}

TEST_CASE("RFC 3339 in UTC, to the second and in Go's nano form") {
  CHECK(to_rfc3339(never, time_zone::utc) == "0001-01-01T00:00:00Z");
  CHECK(to_rfc3339_nano(never, time_zone::utc) == "0001-01-01T00:00:00Z");
  CHECK(to_rfc3339(never, time_zone::local) == "0001-01-01T00:00:00Z");
  CHECK(to_rfc3339(at(0), time_zone::utc) == "1970-01-01T00:00:00Z");
  CHECK(to_rfc3339(at(1705314600, 999999999), time_zone::utc) == "2024-01-15T10:30:00Z");  // dropped, not rounded
  CHECK(to_rfc3339(at(951782400), time_zone::utc) == "2000-02-29T00:00:00Z");
  CHECK(to_rfc3339(at(-1), time_zone::utc) == "1969-12-31T23:59:59Z");
  CHECK(to_rfc3339_nano(at(1705314600), time_zone::utc) == "2024-01-15T10:30:00Z");
  CHECK(to_rfc3339_nano(at(1705314600, 500000000), time_zone::utc) == "2024-01-15T10:30:00.5Z");
  CHECK(to_rfc3339_nano(at(1705314600, 123456789), time_zone::utc) == "2024-01-15T10:30:00.123456789Z");
  CHECK(to_rfc3339_nano(at(1705314600, 1000), time_zone::utc) == "2024-01-15T10:30:00.000001Z");
  CHECK(to_rfc3339_nano(at(-1, 250000000), time_zone::utc) == "1969-12-31T23:59:59.25Z");
  // Every instant of the years 0001-9999 that Go writes, beyond a nanosecond sys_time's range.
  CHECK(to_rfc3339_nano(never + std::chrono::nanoseconds{1}, time_zone::utc) == "0001-01-01T00:00:00.000000001Z");
  CHECK(to_rfc3339(time_point::from_unix(-9223372037), time_zone::utc) == "1677-09-21T00:12:43Z");
  CHECK(to_rfc3339(time_point::from_unix(9223372037), time_zone::utc) == "2262-04-11T23:47:17Z");
  CHECK(to_rfc3339_nano(time_point::from_unix(-30610224000, 5), time_zone::utc) == "1000-01-01T00:00:00.000000005Z");
  CHECK(to_rfc3339_nano(time_point::from_unix(253402300799, 999999999), time_zone::utc) ==
        "9999-12-31T23:59:59.999999999Z");
  CHECK(to_rfc3339(time_point::from_unix(-62167219200), time_zone::utc) == "0000-01-01T00:00:00Z");
  // Beyond four-digit years RFC 3339 has no spelling: the ends of the range are shown.
  CHECK(to_rfc3339(time_point::max(), time_zone::utc) == "9999-12-31T23:59:59Z");
  CHECK(to_rfc3339(time_point::min(), time_zone::utc) == "0000-01-01T00:00:00Z");
  CHECK(to_rfc3339_nano(time_point::from_unix(253402300799 + 3600), time_zone::utc) == "9999-12-31T23:59:59.999999999Z");
}

TEST_CASE("RFC 3339 with fixed offsets, as Go's Z07:00 prints them") {
  const auto fmt_at = [](time_point t, std::int32_t offset) {
    return render([&](auto& s) { detail::write_rfc3339(s, detail::to_civil(t, offset)); });
  };
  CHECK(fmt_at(at(1705314600), 7200) == "2024-01-15T12:30:00+02:00");
  CHECK(fmt_at(at(1705314600), -(5 * 3600 + 30 * 60)) == "2024-01-15T05:00:00-05:30");
  CHECK(fmt_at(at(1705314600), 12 * 3600 + 45 * 60) == "2024-01-15T23:15:00+12:45");
  CHECK(fmt_at(at(1705314600), -11 * 3600) == "2024-01-14T23:30:00-11:00");
  // Go drops the seconds of an offset, and its sign follows the truncated minutes.
  CHECK(fmt_at(at(1705314600), -30) == "2024-01-15T10:29:30+00:00");
  CHECK(fmt_at(at(1705314600), 3600 + 59) == "2024-01-15T11:30:59+01:00");
  const auto nano_at = [](time_point t, std::int32_t offset) {
    return render([&](auto& s) { detail::write_rfc3339_nano(s, detail::to_civil(t, offset)); });
  };
  CHECK(nano_at(at(1705314600, 120000000), 3600) == "2024-01-15T11:30:00.12+01:00");
}

TEST_CASE("local time follows TZ, with the offset written out") {
  SUBCASE("a fixed POSIX zone two hours east") {
    tz_guard tz("UTC-2");
    CHECK(detail::local_utc_offset(at(1705314600)) == 7200);
    CHECK(to_rfc3339(at(1705314600), time_zone::local) == "2024-01-15T12:30:00+02:00");
    CHECK(to_rfc3339_nano(at(1705314600, 5000000), time_zone::local) == "2024-01-15T12:30:00.005+02:00");
    CHECK(to_rfc3339(at(1705314600), time_zone::utc) == "2024-01-15T10:30:00Z");
    CHECK(to_rfc3339(never, time_zone::local) == "0001-01-01T00:00:00Z");
  }
  SUBCASE("Berlin's rule: +01:00 in winter, +02:00 in summer") {
    tz_guard tz("CET-1CEST,M3.5.0,M10.5.0/3");
    CHECK(to_rfc3339(at(1705314600), time_zone::local) == "2024-01-15T11:30:00+01:00");
    CHECK(to_rfc3339(at(1719835200), time_zone::local) == "2024-07-01T14:00:00+02:00");
  }
  SUBCASE("west of UTC with half hours") {
    tz_guard tz("<-0330>3:30");
    CHECK(to_rfc3339(at(1705314600), time_zone::local) == "2024-01-15T07:00:00-03:30");
  }
  SUBCASE("UTC itself is written Z") {
    tz_guard tz("UTC0");
    CHECK(to_rfc3339(at(1705314600), time_zone::local) == "2024-01-15T10:30:00Z");
  }
}

TEST_CASE("Prometheus label values: backslash, quote and newline escaped, UTF-8 kept") {
  CHECK(label_value("plain") == "plain");
  CHECK(label_value("") == "");
  CHECK(label_value("a\\b") == "a\\\\b");
  CHECK(label_value("say \"hi\"") == "say \\\"hi\\\"");
  CHECK(label_value("two\nlines") == "two\\nlines");
  CHECK(label_value("Zürich ✓ 🚀") == "Zürich ✓ 🚀");
  CHECK(label_value("tab\tand\rcr") == "tab\tand\rcr");
  // Prometheus rejects invalid UTF-8; each bad byte becomes U+FFFD.
  CHECK(label_value("a\xff" "b") == "a\xEF\xBF\xBD" "b");
  CHECK(label_value("\xE2\x82") == "\xEF\xBF\xBD\xEF\xBF\xBD");
  std::string with_nul("a\0b", 3);
  CHECK(label_value(with_nul) == with_nul);

  CHECK(render([](auto& s) { write_prometheus_label(s, "name", "x\"y"); }) == "name=\"x\\\"y\"");
}

TEST_CASE("JSON strings are escaped exactly like Go's encoding/json") {
  CHECK(json_string("") == "\"\"");
  CHECK(json_string("plain") == "\"plain\"");
  CHECK(json_string("q\"b\\") == R"("q\"b\\")");
  CHECK(json_string("\n\r\t\b\f") == R"("\n\r\t\b\f")");
  CHECK(json_string(std::string_view("\0\x01\x1f", 3)) == R"("\u0000\u0001\u001f")");
  CHECK(json_string("\x7f") == "\"\x7f\"");  // DEL is not escaped by Go
  CHECK(json_string("<a href='x'>&</a>") == R"("\u003ca href='x'\u003e\u0026\u003c/a\u003e")");
  CHECK(json_string("line\u2028para\u2029") == R"("line\u2028para\u2029")");
  CHECK(json_string("Zürich ✓ 🚀 \xEF\xBF\xBD") == "\"Zürich ✓ 🚀 \xEF\xBF\xBD\"");
  // Invalid UTF-8: each byte that does not start a valid sequence becomes U+FFFD, written
  // as the character (as Go's payload and aggregator have it after a decode and re-encode).
  CHECK(json_string("a\xff" "b") == "\"a\xEF\xBF\xBD" "b\"");
  CHECK(json_string("\xC0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong NUL
  CHECK(json_string("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
  CHECK(json_string("\xF4\x90\x80\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // above U+10FFFF
  CHECK(json_string("\xE2\x82") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // truncated at the end
  CHECK(json_string("\xE2\x82\xAC") == "\"€\"");
  CHECK(json_string("\xF0\x9F\x9A") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST_CASE("the status state set has one series per status and keeps unknown ones") {
  const auto labels = [](auto& s) { write_prometheus_label(s, "name", "r\"1"); };
  const std::string known = render([&](auto& s) { write_status_state_set(s, "plugin_status", labels, "pulling"); });
  CHECK(known ==
        "plugin_status{name=\"r\\\"1\",status=\"idle\"} 0\n"
        "plugin_status{name=\"r\\\"1\",status=\"paused\"} 0\n"
        "plugin_status{name=\"r\\\"1\",status=\"pulling\"} 1\n"
        "plugin_status{name=\"r\\\"1\",status=\"running\"} 0\n"
        "plugin_status{name=\"r\\\"1\",status=\"in_progress\"} 0\n"
        "plugin_status{name=\"r\\\"1\",status=\"stopped\"} 0\n"
        "plugin_status{name=\"r\\\"1\",status=\"draining\"} 0\n"
        "plugin_status{name=\"r\\\"1\",status=\"limit_paused\"} 0\n");
  const std::string unknown =
      render([&](auto& s) { write_status_state_set(s, "plugin_status", labels, "exploded \"badly\""); });
  CHECK(unknown ==
        "plugin_status{name=\"r\\\"1\",status=\"idle\"} 0\n"
        "plugin_status{name=\"r\\\"1\",status=\"paused\"} 0\n"
        "plugin_status{name=\"r\\\"1\",status=\"pulling\"} 0\n"
        "plugin_status{name=\"r\\\"1\",status=\"running\"} 0\n"
        "plugin_status{name=\"r\\\"1\",status=\"in_progress\"} 0\n"
        "plugin_status{name=\"r\\\"1\",status=\"stopped\"} 0\n"
        "plugin_status{name=\"r\\\"1\",status=\"draining\"} 0\n"
        "plugin_status{name=\"r\\\"1\",status=\"limit_paused\"} 0\n"
        "plugin_status{name=\"r\\\"1\",status=\"exploded \\\"badly\\\"\"} 1\n");
}

TEST_CASE("buffer_sink writes in place, grows, and trims the container when done") {
  std::string out = "kept:";
  {
    buffer_sink s(out);
    s.write("abc");
    s.put('d');
    write_uint(s, 1234567890123u);
    write_int(s, -7);
    CHECK(s.size() == 5 + 4 + 13 + 2);
    CHECK(out.size() >= s.size());  // spare room while the sink lives
    std::string big(10000, 'x');
    s.write(big);  // beyond the initial headroom
    for (int i = 0; i < 3000; ++i) s.put('y');
    char* p = s.claim(3);
    p[0] = '#';
    s.commit(p + 1);
    s.finish();
    CHECK(out.size() == 5 + 4 + 13 + 2 + 10000 + 3000 + 1);
    s.write("!");  // writing after finish() is allowed
  }
  CHECK(out == "kept:abcd1234567890123-7" + std::string(10000, 'x') + std::string(3000, 'y') + "#!");

  std::vector<char> v;
  {
    buffer_sink s(v);
    s.write("vector");
  }
  CHECK(std::string(v.begin(), v.end()) == "vector");

  fmt::memory_buffer mb;
  {
    buffer_sink s(mb);
    s.write("memory buffer");
  }
  CHECK(fmt::to_string(mb) == "memory buffer");

  std::string reserved;
  reserved.reserve(100000);
  {
    buffer_sink s(reserved);
    s.write("r");
  }
  CHECK(reserved == "r");
}

TEST_CASE("short copies of every length between 0 and 100 bytes are exact") {
  std::string src;
  for (int i = 0; i < 100; ++i) src.push_back(static_cast<char>('A' + i % 50));
  for (std::size_t n = 0; n <= src.size(); ++n) {
    std::string out;
    {
      buffer_sink s(out);
      s.put('<');
      s.write(std::string_view(src).substr(0, n));
      s.put('>');
    }
    // Built with append, not "<" + ...: GCC 12 -O3 warns falsely on the latter.
    std::string expected(1, '<');
    expected.append(src, 0, n).push_back('>');
    CHECK(out == expected);
  }
}

TEST_CASE("pre-escaped label sets give the same state set as a label writer") {
  detail::prometheus_label_sets sets;
  CHECK(sets.size() == 0);
  const auto first = sets.add([](auto& s) {
    write_prometheus_label(s, "name", "a\"b");
    s.put(',');
    write_prometheus_label(s, "owner", "o");
  });
  const auto second = sets.add([](auto& s) { write_prometheus_label(s, "name", "Zürich\n"); });
  CHECK(first == 0);
  CHECK(second == 1);
  CHECK(sets[0] == "name=\"a\\\"b\",owner=\"o\"");
  CHECK(sets[1] == "name=\"Zürich\\n\"");
  for (const auto st : all_statuses) {
    const std::string by_enum = render([&](auto& s) { write_status_state_set(s, "f", sets[1], st); });
    const std::string by_text = render([&](auto& s) { write_status_state_set(s, "f", sets[1], to_string(st)); });
    const std::string by_writer = render([&](auto& s) {
      write_status_state_set(
          s, "f", [](auto& ls) { write_prometheus_label(ls, "name", "Zürich\n"); }, to_string(st));
    });
    CHECK(by_enum == by_text);
    CHECK(by_enum == by_writer);
  }
  sets.clear();
  CHECK(sets.size() == 0);
}

TEST_CASE("word-at-a-time scanning finds special bytes at every position") {
  for (std::size_t len = 1; len <= 24; ++len) {
    for (std::size_t pos = 0; pos < len; ++pos) {
      for (const char special : {'"', '\\', '\n', '<', '>', '&', '\x01', '\x1f'}) {
        std::string v(len, 'a');
        v[pos] = special;
        const std::string label = label_value(v);
        const std::string js = json_string(v);
        CAPTURE(len);
        CAPTURE(pos);
        CAPTURE(static_cast<int>(special));
        const bool label_escapes = special == '"' || special == '\\' || special == '\n';
        CHECK(label.size() == (label_escapes ? len + 1 : len));
        const std::size_t json_extra = special == '"' || special == '\\' || special == '\n' ? 1 : 5;
        CHECK(js.size() == len + 2 + json_extra);
      }
      std::string bad(len, 'a');
      bad[pos] = '\xff';
      CHECK(label_value(bad).size() == len + 2);
      CHECK(json_string(bad).size() == len + 2 + 2);  // one byte becomes U+FFFD's three
    }
  }
}
