#include "anklet/metrics/store.hpp"

#include <doctest/doctest.h>

using namespace anklet::metrics;

TEST_CASE("a registered handler starts idle with zero counters") {
  basic_store<null_lock, manual_clock> s{manual_clock{time_point{std::chrono::seconds{100}}}};
  auto h = s.add_handler({"r1", "github", "org", ""});
  const auto snap = s.snapshot();
  REQUIRE(snap.plugins.size() == 1);
  CHECK(snap.plugins[0].name == "r1");
  CHECK(snap.plugins[0].status == plugin_status::idle);
  CHECK(snap.plugins[0].status_since == time_point{std::chrono::seconds{100}});
  CHECK(h.name() == "r1");
}
