// Redis faults under the RESP client alone, against a real redis-server started here on a
// free port: killed and restarted, paused with SIGSTOP for longer than the timeouts, and
// replaced by a fake answering -ERR to every command. Every call must come back within its
// timeouts with a typed error, never hang or crash, and once Redis is back the client must
// write again within its reconnect window, with the last value written read back intact.
// (The writer and aggregator drills on top of this are in test_redis_faults.cpp.)
//
// ANKLET_CLIENT_FAULTS_JSON=FILE writes the measured figures for docs/reliability.md.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "redis_fault_tools.hpp"

using namespace fault_test;

namespace {
figures_writer write_figures_at_exit{"ANKLET_CLIENT_FAULTS_JSON"};
}  // namespace

TEST_CASE("Redis faults under the client: typed errors within the timeouts, then recovery, value intact") {
  anklet_test::redis_server redis;
  const auto opts = client_opts(redis.port());
  redis::client c(opts);
  const std::string key = "anklet/metrics/org/fault-drill";
  REQUIRE(c.set(key, "v0"));

  int version = 0;
  for (const fault f : {fault::killed, fault::paused, fault::erroring}) {
    const std::string fault_label = fault_name(f);
    CAPTURE(fault_label);
    const std::string name = std::string("client_") + fault_label;
    inject(f, redis, [&] {
      int calls = 0;
      int failed = 0;
      double slowest = 0;
      std::string last_error;
      const auto end = steady::now() + (f == fault::paused ? pause_for : outage);
      while (steady::now() < end) {
        const auto t0 = steady::now();
        const auto r = c.set(key, "v" + std::to_string(++version));
        const auto took = steady::now() - t0;
        slowest = std::max(slowest, ms(took));
        ++calls;
        if (!r) {
          ++failed;
          last_error = r.error().to_string();
        }
        // Bounded by the timeouts: connect, write and read each at most io_timeout.
        CHECK(took <= 3 * io_timeout + 100ms);
        std::this_thread::sleep_for(20ms);
      }
      CHECK(failed == calls);  // nothing reports success while Redis is unusable
      CHECK_FALSE(last_error.empty());
      MESSAGE(fault_label << ": " << last_error);
      if (f == fault::erroring) CHECK(last_error.find("injected failure") != std::string::npos);
      record(name, "calls_during_fault", calls);
      record(name, "failed_calls", failed);
      record(name, "slowest_call_ms", slowest);
    });
    // Back: the first call after the reconnect window succeeds.
    const std::string value = "v" + std::to_string(++version);
    const auto recovered = wait_for([&] { return static_cast<bool>(c.set(key, value)); }, 10000ms);
    REQUIRE(recovered);
    record(name, "recovery_ms", ms(*recovered));
    CHECK(*recovered <= opts.backoff_max + io_timeout + 100ms);
    const auto got = c.get(key);
    REQUIRE(got);
    REQUIRE(*got);
    // After SIGSTOP a SET sent on a connection the client gave up on may still run when
    // Redis resumes; the recovering write was sent later on a new connection, but both
    // race in the server. A second write settles it, and must then read back exactly.
    if (**got != value) {
      MESSAGE(fault_label << ": read back " << **got << " after writing " << value << " (stale SET from a dropped connection)");
      record(name, "stale_value_seen", 1);
      std::this_thread::sleep_for(50ms);
      REQUIRE(c.set(key, value));
    }
    const auto again = c.get(key);
    REQUIRE(again);
    REQUIRE(*again);
    CHECK(**again == value);
  }
}
