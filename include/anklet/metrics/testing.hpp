// anklet::metrics test-harness kit: what a tool's own unit tests need to assert on its
// metrics without sockets or threads.
//
// Example:
//   using namespace anklet::metrics::testing;
//   TEST_CASE("one successful job") {
//     test_store store;                         // no lock, a clock that moves when told
//     auto runner = store.add_handler({.name = "RUNNER1", .plugin_name = "github", .owner_name = "o", .repo_name = ""});
//     runner.finish_run(anklet::metrics::run_outcome::successful, "https://ci/1");  // the tool's code
//     const auto scraped = scrape(store);       // snapshot, render, parse back
//     CHECK(find(scraped, "plugin_total_successful_runs_since_start", {{"name", "RUNNER1"}}) == 1);
//   }
//
// The exposition readers are strict (Prometheus text format 0.0.4, and OpenMetrics 1.0.0)
// and bounded, so they can also judge output they did not produce: they are fuzzed and
// report every rejection with a line and column. They need only the standard library;
// scrape() and scrape_openmetrics() bring in the renderers and with them {fmt}.
//
// This header gathers the kit; each part has a header of its own under testing/:
// test_store.hpp, exposition.hpp (the parsed form), exposition_reader.hpp,
// openmetrics_reader.hpp, lookup.hpp, scrape.hpp, and doctest.hpp (doctest printing, not
// included here).
#pragma once

// What the kit's users have always got with it: the store, host sources and transports.
#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/host/source.hpp"
#include "anklet/metrics/store.hpp"
#include "anklet/metrics/transport.hpp"
#include "anklet/metrics/testing/exposition.hpp"
#include "anklet/metrics/testing/exposition_reader.hpp"
#include "anklet/metrics/testing/lookup.hpp"
#include "anklet/metrics/testing/openmetrics_reader.hpp"
#include "anklet/metrics/testing/scrape.hpp"
#include "anklet/metrics/testing/test_store.hpp"
