#include "anklet/metrics/transport.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "anklet/metrics/store.hpp"
#include "host_fixture.hpp"

using namespace anklet::metrics;
using namespace std::chrono_literals;
using anklet_test::sample_host;

namespace {

using test_store = basic_store<null_lock, manual_clock>;

struct no_publish {};
struct wrong_argument {
  void publish(int) {}
};
struct returns_status {
  bool publish(const metrics_snapshot&) { return true; }
};
struct takes_by_value {
  void publish(metrics_snapshot) {}
};

// Fails on demand, so that one test sees a good and a bad publish through the same transport.
struct throwing_transport {
  int calls = 0;
  bool fail = true;
  void publish(const metrics_snapshot&) {
    ++calls;
    if (fail) throw std::runtime_error("redis is down");
  }
  [[nodiscard]] std::string_view name() const noexcept { return "flaky"; }
};

struct throws_int {
  void publish(const metrics_snapshot&) { throw 42; }
};

// Records the host figures the store held when the transport was called.
struct order_probe {
  std::vector<std::string> log;
  void publish(const metrics_snapshot& s) { log.push_back("publish cpu=" + std::to_string(s.host.cpu_count)); }
};

// A host source that logs when it is sampled into the same log as the probe.
struct logging_source {
  std::vector<std::string>* log;
  host_metrics values;
  host_sample sample() {
    log->push_back("sample");
    return host_sample{values, {}};
  }
};

}  // namespace

TEST_CASE("the transport concept accepts publish(const metrics_snapshot&) returning void only") {
  static_assert(transport<memory_transport>);
  static_assert(transport<throwing_transport>);
  static_assert(transport<takes_by_value>);
  static_assert(!transport<no_publish>);
  static_assert(!transport<wrong_argument>);
  static_assert(!transport<returns_status>);
  static_assert(!transport<int>);
  static_assert(!transport<const memory_transport>);  // publish needs a mutable transport
  static_assert(snapshot_store<test_store>);
  static_assert(snapshot_store<store>);
  static_assert(!snapshot_store<int>);
  CHECK(true);
}

TEST_CASE("memory_transport records what it received") {
  memory_transport mem;
  CHECK(mem.count() == 0);
  CHECK_FALSE(mem.last().has_value());
  CHECK_FALSE(mem.wait_for_count(1, 0ms));

  metrics_snapshot a;
  a.total_running_vms = 1;
  metrics_snapshot b;
  b.total_running_vms = 2;
  mem.publish(a);
  mem.publish(b);
  CHECK(mem.count() == 2);
  REQUIRE(mem.last().has_value());
  CHECK(*mem.last() == b);
  const auto all = mem.all();
  REQUIRE(all.size() == 2);
  CHECK(all[0] == a);
  CHECK(all[1] == b);
  CHECK(mem.wait_for_count(2, 0ms));
  mem.clear();
  CHECK(mem.count() == 0);
  CHECK(mem.all().empty());
}

TEST_CASE("memory_transport wait_for_count sees a publish from another thread") {
  memory_transport mem;
  std::thread t([&] {
    std::this_thread::sleep_for(20ms);
    mem.publish(metrics_snapshot{});
  });
  const bool arrived = mem.wait_for_count(1, 10s);
  t.join();
  CHECK(arrived);
  CHECK(mem.count() == 1);
}

TEST_CASE("the exporter hands the same snapshot to every transport") {
  test_store s{manual_clock{time_point{std::chrono::seconds{1700000000}}}};
  auto h = s.add_handler({"RUNNER1", "github", "org", "repo"});
  h.increment_successful_runs();
  fixed_host_source host{sample_host()};
  memory_transport a;
  memory_transport b;
  memory_transport c;
  exporter ex{s, host, a, b, c};
  static_assert(decltype(ex)::transport_count() == 3);

  const auto r = ex.publish();
  CHECK(r.ok());
  CHECK(r.delivered == 3);
  CHECK(r.failures.empty());
  REQUIRE(a.count() == 1);
  REQUIRE(b.count() == 1);
  REQUIRE(c.count() == 1);
  CHECK(*a.last() == *b.last());
  CHECK(*b.last() == *c.last());
  CHECK(a.last()->last_update == time_point{std::chrono::seconds{1700000000}});
  CHECK(a.last()->total_successful_runs_since_start == 1);
  REQUIRE(a.last()->plugins.size() == 1);
  CHECK(a.last()->plugins[0].name == "RUNNER1");
  CHECK(a.last()->host == sample_host());

  s.clock().advance(10s);
  h.increment_failed_runs();
  static_cast<void>(ex.publish());
  REQUIRE(a.count() == 2);
  CHECK(a.last()->total_failed_runs_since_start == 1);
  CHECK(a.last()->last_update == time_point{std::chrono::seconds{1700000010}});
  CHECK(a.all()[0].total_failed_runs_since_start == 0);
  CHECK(&ex.get<1>() == &b);
}

TEST_CASE("the exporter samples the host before taking the snapshot") {
  test_store s;
  std::vector<std::string> log;
  logging_source src{&log, sample_host()};
  order_probe probe;
  memory_transport mem;
  auto ex = make_exporter(s, src, probe, mem);
  const auto r = ex.publish();
  CHECK(r.ok());
  probe.log.insert(probe.log.begin(), log.begin(), log.end());
  CHECK(probe.log == std::vector<std::string>{"sample", "publish cpu=8"});
  CHECK(mem.last()->host == sample_host());
  CHECK(s.snapshot().host == sample_host());
}

TEST_CASE("a throwing transport does not stop the others and is reported") {
  test_store s;
  no_host_source none;
  memory_transport before;
  throwing_transport flaky;
  throws_int odd;
  memory_transport after;
  exporter ex{s, none, before, flaky, odd, after};

  auto r = ex.publish();
  CHECK_FALSE(r.ok());
  CHECK(r.host.ok());
  CHECK(r.delivered == 2);
  CHECK(before.count() == 1);
  CHECK(after.count() == 1);
  CHECK(flaky.calls == 1);
  REQUIRE(r.failures.size() == 2);
  CHECK(r.failures[0].index == 1);
  CHECK(r.failures[0].name == "flaky");
  CHECK(r.failures[0].message == "redis is down");
  CHECK(r.failures[1].index == 2);
  CHECK(r.failures[1].name == "transport #2");
  CHECK(r.failures[1].message == "non-standard exception");

  flaky.fail = false;
  odd = {};
  metrics_snapshot given;
  given.total_running_vms = 5;
  r = ex.publish(given);  // fan out an existing snapshot
  CHECK(r.delivered == 3);
  CHECK(r.failures.size() == 1);
  CHECK(after.last()->total_running_vms == 5);
}

TEST_CASE("host errors reach the publish result while the snapshot still goes out") {
  test_store s;
  host_sample broken{sample_host(), {}};
  broken.fail(host_part::disk, "statvfs failed");
  fixed_host_source src{broken};
  memory_transport mem;
  exporter ex{s, src, mem};
  const auto r = ex.publish();
  CHECK_FALSE(r.ok());
  CHECK(r.delivered == 1);
  CHECK(r.host.error(host_part::disk) == "statvfs failed");
  CHECK(mem.last()->host.disk_total_bytes == 0);
  CHECK(mem.last()->host.cpu_count == 8);
}

TEST_CASE("function_transport adapts a lambda; an exporter without transports only refreshes") {
  test_store s;
  fixed_host_source src{sample_host()};
  int seen = 0;
  function_transport fn{[&](const metrics_snapshot& snap) { seen += static_cast<int>(snap.host.cpu_count); }};
  static_assert(transport<decltype(fn)>);
  exporter with_fn{s, src, fn};
  static_cast<void>(with_fn.publish());
  CHECK(seen == 8);

  test_store t;
  exporter bare{t, src};
  const auto r = bare.publish();
  CHECK(r.ok());
  CHECK(r.delivered == 0);
  CHECK(t.snapshot().host == sample_host());
}

TEST_CASE("the exporter works over a thread-safe store from several threads") {
  store s;
  s.add_handler({"h", "github", "o", ""});
  fixed_host_source src{sample_host()};
  memory_transport mem;
  exporter ex{s, src, mem};
  std::thread a([&] {
    for (int i = 0; i < 50; ++i) static_cast<void>(ex.publish());
  });
  std::thread b([&] {
    for (int i = 0; i < 50; ++i) static_cast<void>(ex.publish());
  });
  a.join();
  b.join();
  CHECK(mem.count() == 100);
}
