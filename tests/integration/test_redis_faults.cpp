// Redis faults during export and aggregation, against a real redis-server started here on a
// free port: killed, restarted, paused with SIGSTOP for longer than the client timeouts, and
// replaced by a fake that answers -ERR to every command. The writer and the aggregator must
// keep running, report the trouble (writer health, aggregator 503), recover within one
// export interval once Redis is back, and Redis must then hold the store's current state.
//
// ANKLET_FAULTS_JSON=FILE writes the measured figures for docs/reliability.md.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "anklet/metrics/fleet/aggregator.hpp"
#include "anklet/metrics/fleet/payload_reader.hpp"
#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/writer.hpp"
#include "anklet/metrics/render/json.hpp"
#include "anklet/metrics/store.hpp"
#include "redis_fault_tools.hpp"

using namespace fault_test;

namespace {

figures_writer write_figures_at_exit{"ANKLET_FAULTS_JSON"};

// What Redis holds under `key`, read back with the payload reader.
std::optional<host_report> stored_report(int port, const std::string& key) {
  redis::client c(client_opts(port));
  auto v = c.get(key);
  if (!v || !*v) return std::nullopt;
  host_report r;
  if (!read_payload(**v, r)) return std::nullopt;
  return r;
}

// The store's current state as the same reader sees it, with the stored last_update
// (the only field that is the time of the write rather than the state).
host_report expected_report(const store& s, const host_report& stored) {
  auto snap = s.snapshot();
  snap.last_update = stored.last_update.instant;
  std::string json;
  format_json(snap, std::back_inserter(json), json_options{});
  host_report r;
  REQUIRE(read_payload(json, r));
  r.last_update = stored.last_update;
  return r;
}

}  // namespace

TEST_CASE("Redis faults during export: the writer survives, reports, recovers, loses nothing") {
  anklet_test::redis_server redis;
  store s;
  auto h = s.add_handler({"runner-1", "github", "org", "repo"});
  s.add_receiver({"receiver-1", "github_receiver", "org", ""});

  redis::writer_options wo;
  wo.key = redis::metrics_key("org", "runner-1");
  wo.client = client_opts(redis.port());
  wo.interval = interval;
  redis::writer w(wo);
  std::atomic<int> log_errors{0};
  w.set_log([&](redis::log_level l, std::string_view) {
    if (l >= redis::log_level::warning) log_errors.fetch_add(1);
  });
  w.start([&](metrics_snapshot& out) { s.snapshot_into(out); });
  REQUIRE(wait_for([&] { return w.health().healthy(); }, 5000ms));
  const std::string key = w.health().key;
  CHECK(key == "anklet/metrics/org/runner-1");

  int run = 0;
  for (const fault f : {fault::killed, fault::paused, fault::erroring}) {
    const std::string fault_label = fault_name(f);
    CAPTURE(fault_label);
    const auto before = w.health();
    inject(f, redis, [&] {
      // The store keeps changing while Redis is unusable.
      const auto end = steady::now() + (f == fault::paused ? pause_for : outage);
      while (steady::now() < end) {
        h.set_status(plugin_status::in_progress);
        ++run;
        h.finish_run(run % 3 == 0 ? run_outcome::failed : run_outcome::successful,
                     "https://example.org/run/" + std::to_string(run));
        h.set_status(plugin_status::idle);
        std::this_thread::sleep_for(50ms);
      }
      // Health shows the outage while it lasts.
      const auto during = w.health();
      CHECK(during.running);
      CHECK(during.consecutive_failures > 0);
      CHECK(during.writes_failed > before.writes_failed);
      CHECK(during.last_error.has_value());
      CHECK_FALSE(during.healthy());
      if (during.last_error) {
        MESSAGE(fault_label << ": " << during.last_error->to_string());
        if (f == fault::erroring) CHECK(during.last_error->to_string().find("injected failure") != std::string::npos);
      }
      record(std::string("export_") + fault_name(f), "failed_writes",
             static_cast<double>(during.writes_failed - before.writes_failed));
    });
    const auto recovered = wait_for([&] { return w.health().healthy(); }, 10000ms);
    REQUIRE(recovered);
    record(std::string("export_") + fault_name(f), "recovery_ms", ms(*recovered));
    // Within one interval of Redis being back (the retry delay is capped by the interval),
    // plus one reconnect window when the first attempt hits the connection that died.
    CHECK(*recovered <= interval + wo.client.backoff_max + io_timeout);

    // Nothing lost: Redis converges to the store's state. Usually the recovering write
    // already carries it; after SIGSTOP, SETs sent on connections the client gave up on
    // are still queued in the paused server and may run after the recovering write, so
    // the value can be one write behind until the next periodic write.
    const auto t_back = steady::now();
    std::optional<host_report> stored;
    const auto consistent = wait_for(
        [&] {
          stored = stored_report(redis.port(), key);
          return stored && *stored == expected_report(s, *stored);
        },
        10000ms);
    REQUIRE(consistent);
    record(std::string("export_") + fault_name(f), "consistent_ms", ms(*recovered + (steady::now() - t_back)));
    CHECK(*consistent <= interval + io_timeout);
    // ...and stays so: no late stale write undoes it within the next interval.
    std::this_thread::sleep_for(interval + 100ms);
    stored = stored_report(redis.port(), key);
    REQUIRE(stored);
    CHECK(*stored == expected_report(s, *stored));
    CHECK(stored->plugins.at(0).total_successful_runs_since_start ==
          s.snapshot().plugins.at(0).total_successful_runs_since_start);
  }
  CHECK(w.running());
  CHECK(log_errors.load() > 0);
  w.stop();
  CHECK(w.cleanup());
}

TEST_CASE("Redis faults during aggregation: 503 with the reason while down, current answers once back") {
  anklet_test::redis_server redis;
  store s;
  auto h = s.add_handler({"runner-1", "github", "org", "repo"});

  redis::writer_options wo;
  wo.key = redis::metrics_key("org", "runner-1");
  wo.client = client_opts(redis.port());
  wo.interval = interval;
  redis::writer w(wo);
  w.start([&](metrics_snapshot& out) { s.snapshot_into(out); });
  REQUIRE(wait_for([&] { return w.health().healthy(); }, 5000ms));

  aggregator_options ao;
  ao.client = client_opts(redis.port());
  aggregator agg(ao);
  REQUIRE(agg.respond("GET", "/metrics/v2", "format=json").status == 200);

  int run = 0;
  for (const fault f : {fault::killed, fault::paused, fault::erroring}) {
    const std::string fault_label = fault_name(f);
    CAPTURE(fault_label);
    const std::string name = std::string("aggregate_") + fault_name(f);
    inject(f, redis, [&] {
      std::atomic<bool> done{false};
      int answered = 0;
      int unavailable = 0;
      std::string reason;
      std::thread changes([&] {
        while (!done.load()) {
          h.finish_run(run_outcome::successful, "https://example.org/run/" + std::to_string(++run));
          std::this_thread::sleep_for(50ms);
        }
      });
      const auto end = steady::now() + (f == fault::paused ? pause_for : outage);
      while (steady::now() < end) {
        const auto t0 = steady::now();
        const auto r = agg.respond("GET", "/metrics/v2", "format=prometheus");
        ++answered;
        if (r.status == 503) {
          ++unavailable;
          reason = r.body;
        }
        // Never longer than the client timeouts: a stuck Redis must not stall scrapes.
        CHECK(steady::now() - t0 <= 3 * io_timeout);
        std::this_thread::sleep_for(50ms);
      }
      done.store(true);
      changes.join();
      CHECK(unavailable > 0);
      CHECK(reason.find("cannot read the fleet from Redis") != std::string::npos);
      CHECK(agg.respond("GET", "/healthcheck", "").status == 200);
      record(name, "requests_during_fault", answered);
      record(name, "answered_503", unavailable);
    });
    // Back within one interval: the aggregator reads Redis per request (after its client's
    // reconnect window), and the writer puts the current state there within its interval.
    const auto recovered = wait_for(
        [&] {
          const auto r = agg.respond("GET", "/metrics/v2", "format=json");
          const auto total = s.snapshot().plugins.at(0).total_successful_runs_since_start;
          return r.status == 200 &&
                 r.body.find("\"plugin_total_successful_runs_since_start\":" + std::to_string(total)) != std::string::npos;
        },
        10000ms);
    REQUIRE(recovered);
    record(name, "recovery_ms", ms(*recovered));
    CHECK(*recovered <= interval + wo.client.backoff_max + io_timeout);
  }
  w.stop();
}
