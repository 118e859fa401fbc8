// anklet::metrics testing kit, doctest support: failure messages show the kit's values.
// Without it doctest prints `{?}` for what find() and current_status() return (std::optional,
// which doctest cannot print) and for samples; with it a failed
// `CHECK(find(scraped, "total_failed_runs_since_start") == 0)` reads `CHECK( 2 == 0 )`, and a
// lookup that matched nothing reads `CHECK( nullopt == 0 )`. See docs/testing.md.
//
// Include it in test files instead of, or after, <doctest/doctest.h>: it includes both doctest
// and testing.hpp. It specialises doctest::StringMaker for std::optional<double>,
// std::optional<std::string>, testing::sample and testing::label, and prints plugin_status by
// name; a test program that specialises one of these itself should not include this header.
//
// Example:
//   using namespace anklet::metrics::testing;
//   TEST_CASE("a failure names the value") {
//     test_store store;
//     store.add_handler({.name = "RUNNER1", .plugin_name = "github", .owner_name = "o", .repo_name = ""});
//     CHECK(doctest::toString(find(scrape(store), "total_running_vms")) == "0");
//   }
#pragma once

#include <array>
#include <charconv>
#include <optional>
#include <string>

#include <doctest/doctest.h>

#include "anklet/metrics/core/status.hpp"
#include "anklet/metrics/testing.hpp"

namespace anklet::metrics::testing::detail {

// Shortest text that reads back as the same double ("1", "0.5", "1e+20", "inf", "nan").
inline std::string shortest(double v) {
  std::array<char, 32> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), r.ptr);
}

}  // namespace anklet::metrics::testing::detail

namespace doctest {

template <>
struct StringMaker<std::optional<double>> {
  static String convert(const std::optional<double>& v) {
    return v ? String(anklet::metrics::testing::detail::shortest(*v).c_str()) : String("nullopt");
  }
};

template <>
struct StringMaker<std::optional<std::string>> {
  static String convert(const std::optional<std::string>& v) {
    return v ? String(v->c_str()) : String("nullopt");
  }
};

template <>
struct StringMaker<anklet::metrics::testing::sample> {
  static String convert(const anklet::metrics::testing::sample& s) {
    return String(anklet::metrics::testing::to_string(s).c_str());
  }
};

template <>
struct StringMaker<anklet::metrics::testing::label> {
  static String convert(const anklet::metrics::testing::label& l) {
    return String((l.name + "=\"" + l.value + "\"").c_str());
  }
};

}  // namespace doctest

namespace anklet::metrics {

// doctest prints enums as their number before asking StringMaker; an overload found by
// argument-dependent lookup comes first and prints the status's name.
inline doctest::String toString(plugin_status s) {
  const auto text = to_string(s);
  return doctest::String(text.data(), static_cast<doctest::String::size_type>(text.size()));
}

}  // namespace anklet::metrics
