// Decimal text to double without from_chars (Apple's libc++ has none for floating point):
// the stream path must accept what the callers validated, round exactly like from_chars,
// and ignore the locale. Part of the render binary, which tests/meson.build also runs
// under de_DE.UTF-8.
#include "anklet/metrics/detail/decimal.hpp"

#include <bit>
#include <clocale>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <locale>
#include <random>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>

using anklet::metrics::detail::is_plain_decimal;
using anklet::metrics::detail::plain_decimal_to_double;
using anklet::metrics::detail::plain_decimal_to_double_stream;

namespace {

// The environment's locale in C and C++ for the test's duration (de_DE.UTF-8 in one of the
// runs), restored afterwards.
struct environment_locale {
  std::string c_locale = std::setlocale(LC_ALL, nullptr);
  std::locale cpp_locale;
  environment_locale() {
    REQUIRE(std::setlocale(LC_ALL, "") != nullptr);
    std::locale::global(std::locale(""));
    if (const char* expect = std::getenv("ANKLET_EXPECT_DECIMAL_COMMA"); expect && *expect == '1') {
      // Prove that the comma is in force, or the checks below would test nothing.
      REQUIRE(std::strtod("1,5", nullptr) == 1.5);
    }
  }
  environment_locale(const environment_locale&) = delete;
  environment_locale& operator=(const environment_locale&) = delete;
  ~environment_locale() {
    std::setlocale(LC_ALL, c_locale.c_str());
    std::locale::global(cpp_locale);
  }
};

double stream(const std::string& s) {
  REQUIRE(is_plain_decimal(s));
  double v = -1;
  REQUIRE(plain_decimal_to_double_stream(s, v));
  return v;
}

}  // namespace

TEST_CASE("plain decimals: what the callers accept, and nothing else") {
  for (const char* ok : {"0", "-0", "1", "1.5", "-1.5", ".5", "5.", "1e3", "1E+3", "1.25e-3", "-.5e2", "007"}) {
    CAPTURE(ok);
    CHECK(is_plain_decimal(ok));
  }
  for (const char* bad : {"", "-", ".", "-.", "+1", " 1", "1 ", "1,5", "1e", "1e+", "e3", "1.5.2", "0x10", "inf",
                          "nan", "1e3.5", "--1", "1-"}) {
    CAPTURE(bad);
    CHECK_FALSE(is_plain_decimal(bad));
  }
}

TEST_CASE("the stream path reads decimals exactly, under the environment's locale") {
  environment_locale loc;
  CHECK(stream("1.5") == 1.5);
  CHECK(stream("-2.25") == -2.25);
  CHECK(stream(".5") == 0.5);
  CHECK(stream("5.") == 5.0);
  CHECK(stream("1e3") == 1000.0);
  CHECK(stream("12345678.125") == 12345678.125);
  CHECK(std::signbit(stream("-0")));
  CHECK(stream("0.1") == 0.1);
  CHECK(stream("1.7976931348623157e308") == 1.7976931348623157e308);
  CHECK(stream("2.2250738585072014e-308") == 2.2250738585072014e-308);
  CHECK(stream("4.9406564584124654e-324") == 4.9406564584124654e-324);  // the smallest subnormal
  CHECK(stream("1e-400") == 0);  // below every subnormal: zero, as Go's ParseFloat answers
  double v = 0;
  CHECK_FALSE(plain_decimal_to_double_stream("1e309", v));
  CHECK_FALSE(plain_decimal_to_double_stream("-1e400", v));
  CHECK(plain_decimal_to_double("1.5", v));
  CHECK(v == 1.5);
  CHECK_FALSE(plain_decimal_to_double("1e309", v));
}

TEST_CASE("the stream path rounds like from_chars: random doubles survive a round trip") {
  environment_locale loc;
  std::mt19937_64 rng(20261203);
  int checked = 0;
  while (checked < 20000) {
    const double d = std::bit_cast<double>(rng());
    if (!std::isfinite(d)) continue;
    ++checked;
    // Shortest round-trip form and 17 significant digits in exponent form, as {fmt} and
    // Go print them (fixed notation for the huge exponents is not what callers see).
    for (const auto& text : {fmt::format("{}", d), fmt::format("{:.16e}", d)}) {
      if (!is_plain_decimal(text)) continue;  // {fmt} writes "inf" only for infinities
      double parsed = 0;
      REQUIRE_MESSAGE(plain_decimal_to_double_stream(text, parsed), text);
      REQUIRE_MESSAGE(std::bit_cast<std::uint64_t>(parsed) == std::bit_cast<std::uint64_t>(d), text);
      double reference = 0;
      REQUIRE(plain_decimal_to_double(text, reference));
      REQUIRE(reference == parsed);
    }
  }
}
