// Numbers never follow the locale: the goldens hold under whatever LC_ALL the test runs
// with (tests/meson.build runs this binary under several), under the C++ global locale,
// and under a locale with a decimal comma when the machine has one.
#include <doctest/doctest.h>

#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <locale>
#include <string>

#include "anklet/metrics/render/anklet_text.hpp"
#include "anklet/metrics/render/json.hpp"
#include "anklet/metrics/render/prometheus.hpp"
#include "render_fixtures.hpp"
#include "render_goldens.hpp"

using namespace anklet::metrics;
using namespace anklet_test;

namespace {

// A decimal comma and a thousands separator, as de_DE has, for the C++ side.
struct german_numbers : std::numpunct<char> {
  char do_decimal_point() const override { return ','; }
  char do_thousands_sep() const override { return '.'; }
  std::string do_grouping() const override { return "\3"; }
};

// Restores the C and C++ locales at the end of a test.
struct locale_guard {
  std::string c_locale = std::setlocale(LC_ALL, nullptr);
  std::locale cpp_locale;
  ~locale_guard() {
    std::setlocale(LC_ALL, c_locale.c_str());
    std::locale::global(cpp_locale);
  }
};

void check_goldens() {
  CHECK(to_anklet_text(mixed_snapshot(), {time_zone::utc}) == mixed_anklet_text_utc);
  CHECK(to_anklet_text(receiver_only_snapshot(), {time_zone::utc}) == receiver_only_anklet_text_utc);
  CHECK(to_prometheus(mixed_snapshot()) == mixed_prometheus);
  CHECK(to_prometheus(receiver_only_snapshot()) == receiver_only_prometheus);
  CHECK(to_json(mixed_snapshot(), {time_zone::utc}) == mixed_json_utc);
}

}  // namespace

TEST_CASE("goldens hold under the environment's locale") {
  locale_guard guard;
  const char* lc_all = std::getenv("LC_ALL");
  const char* applied = std::setlocale(LC_ALL, "");
  INFO("LC_ALL=" << (lc_all ? lc_all : "(unset)") << ", applied: " << (applied ? applied : "(failed)"));
  REQUIRE(applied != nullptr);
  std::locale::global(std::locale(""));
  // When the test runner promised a decimal-comma locale, prove it is really in force,
  // or this test would pass without testing anything.
  if (const char* expect = std::getenv("ANKLET_EXPECT_DECIMAL_COMMA"); expect && *expect == '1') {
    char probe[16];
    std::snprintf(probe, sizeof probe, "%.1f", 1.5);
    REQUIRE(std::string(probe) == "1,5");
  }
  check_goldens();
}

TEST_CASE("goldens hold under a C++ global locale with a decimal comma") {
  locale_guard guard;
  std::locale::global(std::locale(std::locale::classic(), new german_numbers));
  check_goldens();
}

TEST_CASE("goldens hold under every installed German or French locale") {
  locale_guard guard;
  for (const char* name : {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "de_CH.UTF-8"}) {
    if (std::setlocale(LC_ALL, name) == nullptr) continue;
    CAPTURE(name);
    check_goldens();
  }
}
