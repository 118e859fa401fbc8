// Checks that fail on purpose: tests/integration/doctest_messages.py runs this program and reads the
// values doctest prints for them, which include/anklet/metrics/testing/doctest.hpp provides.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "anklet/metrics/testing/doctest.hpp"

namespace am = anklet::metrics;
namespace amt = anklet::metrics::testing;

TEST_CASE("failure messages of the testing kit") {
  amt::test_store store;
  auto runner = store.add_handler({.name = "RUNNER1", .plugin_name = "github", .owner_name = "o", .repo_name = ""});
  runner.finish_run(am::run_outcome::successful, "https://ci/1");
  runner.finish_run(am::run_outcome::successful, "https://ci/2");
  const amt::exposition scraped = amt::scrape(store);

  CHECK(amt::find(scraped, "total_successful_runs_since_start") == 0);
  CHECK(amt::find(scraped, "host_cpu_usage_percentage_typo") == 1);
  CHECK(amt::current_status(scraped, "RUNNER1") == "running");
  CHECK(store.snapshot().plugins.at(0).status == am::plugin_status::running);
  const amt::sample* s = amt::find_sample(scraped, "plugin_status", {{"name", "RUNNER1"}, {"status", "idle"}});
  REQUIRE(s != nullptr);
  CHECK(s->labels.at(0) == amt::label{"name", "RUNNER2"});
}
