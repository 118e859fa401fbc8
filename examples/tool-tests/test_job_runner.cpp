// The tool's own unit tests, written the way a user of anklet-metrics would: no sockets,
// no threads, a clock that moves only when the test says so, and assertions on what a
// Prometheus scrape would read.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include <anklet/metrics/testing.hpp>
#include <anklet/metrics/testing/doctest.hpp>  // failure messages that show the values

#include "job_runner.hpp"

namespace am = anklet::metrics;
namespace amt = anklet::metrics::testing;
using namespace std::chrono_literals;

namespace {

const am::time_point start{std::chrono::sys_days{std::chrono::year{2024} / 1 / 15} + 10h};

// A fixture: the store, and a runner whose VM "runs" by advancing the test clock.
struct fixture {
  amt::test_store store{am::manual_clock{start}};
  std::vector<std::string> executed;
  tool::job_result next_result = tool::job_result::succeeded;
  bool cached = true;
  tool::job_runner<amt::test_store> runner{
      store, "RUNNER1", "veertuinc",
      [this](const tool::job& j) {
        executed.push_back(j.url);
        store.clock().advance(90s);  // the job takes a minute and a half
        return next_result;
      },
      [this](const std::string&) { return cached; }};
};

}  // namespace

TEST_CASE_FIXTURE(fixture, "a successful job is counted and leaves the runner idle") {
  runner.run({.url = "https://github.com/veertuinc/anklet/actions/runs/1", .vm_template = "macos-14"});

  const amt::exposition scraped = amt::scrape(store);
  CHECK(amt::find(scraped, "total_successful_runs_since_start") == 1);
  CHECK(amt::find(scraped, "total_failed_runs_since_start") == 0);
  CHECK(amt::find(scraped, "total_running_vms") == 0);
  CHECK(amt::find(scraped, "plugin_total_ran_vms", {{"name", "RUNNER1"}}) == 1);
  CHECK(amt::current_status(scraped, "RUNNER1") == "idle");
  CHECK(amt::find(scraped, "plugin_status", {{"name", "RUNNER1"}, {"status", "idle"}}) == 1);
  // The last-run time is when the job ended (Prometheus carries no job_url label by
  // default: a label that changes with every job would make a series per job).
  const auto ended = (start + 90s).unix_seconds();
  CHECK(amt::find(scraped, "plugin_last_successful_run", {{"name", "RUNNER1"}}) == static_cast<double>(ended));
  CHECK(amt::find(scraped, "plugin_last_failed_run", {{"name", "RUNNER1"}}) == 0);
}

TEST_CASE_FIXTURE(fixture, "failed and canceled jobs go to their own counters") {
  next_result = tool::job_result::failed;
  runner.run({.url = "https://ci.example/2", .vm_template = "macos-14"});
  next_result = tool::job_result::canceled;
  runner.run({.url = "https://ci.example/3", .vm_template = "macos-14"});

  const auto samples = amt::scrape(store).all_samples();
  CHECK(amt::find(samples, "plugin_total_failed_runs_since_start", {{"name", "RUNNER1"}}) == 1);
  CHECK(amt::find(samples, "plugin_total_canceled_runs_since_start", {{"name", "RUNNER1"}}) == 1);
  CHECK(amt::find(samples, "plugin_total_successful_runs_since_start", {{"name", "RUNNER1"}}) == 0);
  CHECK(amt::find(samples, "plugin_total_ran_vms", {{"name", "RUNNER1"}}) == 2);
  CHECK(executed == std::vector<std::string>{"https://ci.example/2", "https://ci.example/3"});
}

TEST_CASE_FIXTURE(fixture, "status_since moves only when the status changes") {
  runner.run({.url = "https://ci.example/4", .vm_template = "macos-14"});
  const auto since = amt::find(amt::scrape(store), "plugin_status_since", {{"name", "RUNNER1"}});
  REQUIRE(since);
  store.clock().advance(1h);
  CHECK(amt::find(amt::scrape(store), "plugin_status_since", {{"name", "RUNNER1"}}) == since);
  runner.stop();
  CHECK(amt::find(amt::scrape(store), "plugin_status_since", {{"name", "RUNNER1"}}) == *since + 3600);
  CHECK(amt::current_status(amt::scrape(store), "RUNNER1") == "stopped");
}

TEST_CASE_FIXTURE(fixture, "the runner passes through pulling only when the template is missing") {
  // A transport that records every snapshot: publish after each step of interest.
  am::memory_transport seen;
  am::no_host_source host;
  am::exporter exporter{store, host, seen};

  cached = false;
  // The job observes the store while it runs, as a scrape in the middle of a job would.
  tool::job_runner<amt::test_store> observed{store, "RUNNER2", "veertuinc",
                                             [&](const tool::job&) {
                                               exporter.publish();
                                               return tool::job_result::succeeded;
                                             },
                                             [this](const std::string&) { return cached; }};
  observed.run({.url = "https://ci.example/5", .vm_template = "macos-15"});
  exporter.publish();

  REQUIRE(seen.count() == 2);
  const auto during = seen.all().front();
  const auto& runner2 = during.plugins.at(1);
  CHECK(runner2.name == "RUNNER2");
  CHECK(runner2.status == am::plugin_status::in_progress);
  CHECK(during.total_running_vms == 1);
  CHECK(seen.last()->total_running_vms == 0);
  // Equal content while nothing changes: the store's generation says so without a copy.
  const auto generation = store.generation();
  store.clock().advance(5min);
  CHECK(store.generation() == generation);
}

TEST_CASE("the exposition a tool serves stays valid with hostile plugin names") {
  amt::test_store store;
  store.add_handler({.name = "weird \"name\" with \\ and\nnewline", .plugin_name = "github", .owner_name = "é", .repo_name = "r{e},p=o"});
  const amt::exposition scraped = amt::scrape(store);  // throws on invalid text
  CHECK(amt::current_status(scraped, "weird \"name\" with \\ and\nnewline") == "idle");
  CHECK(amt::find(scraped, "plugin_status_since", {{"repo", "r{e},p=o"}, {"owner", "é"}}) == 0);
}
