// The cluster client, writer and aggregator against a real Redis Cluster (3 masters, 3
// replicas) started here: key slots as the server computes them, routing, MOVED after a
// slot is resharded, ASK while it migrates, and a failover during export.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "anklet/metrics/fleet/aggregator.hpp"
#include "anklet/metrics/redis/cluster.hpp"
#include "anklet/metrics/redis/writer.hpp"
#include "anklet/metrics/store.hpp"
#include "redis_cluster.hpp"
#include "redis_fault_tools.hpp"

using namespace anklet::metrics;
using namespace std::chrono_literals;
using anklet_test::redis_cluster;
using steady = std::chrono::steady_clock;

namespace {

// One cluster for the whole binary: forming it takes seconds. The failover drill is last,
// since it leaves a master dead.
redis_cluster& shared() {
  static redis_cluster cluster;
  return cluster;
}

redis::client_options node_options(int port) {
  redis::client_options o;
  o.target.host = "127.0.0.1";
  o.target.port = static_cast<std::uint16_t>(port);
  o.connect_timeout = 500ms;
  o.read_timeout = 500ms;
  o.write_timeout = 500ms;
  o.backoff_initial = 20ms;
  o.backoff_max = 200ms;
  return o;
}

redis::cluster_options cluster_opts() {
  redis::cluster_options o;
  o.node = node_options(shared().seed_port());
  return o;
}

// A payload as Go Anklet writes it, for plugin `name`.
std::string payload(const std::string& name, int ran) {
  return R"({"last_update":"2025-01-07T18:17:03.5-06:00","host_cpu_count":12,"plugins":[{"Name":")" + name +
         R"(","PluginName":"github","OwnerName":"acme","RepoName":"anklet","Status":"idle","StatusSince":"2025-01-07T18:07:36-06:00","TotalRanVMs":)" +
         std::to_string(ran) +
         R"(,"LastSuccessfulRun":"0001-01-01T00:00:00Z","LastFailedRun":"0001-01-01T00:00:00Z","LastCanceledRun":"0001-01-01T00:00:00Z","LastSuccessfulRunJobUrl":"","LastFailedRunJobUrl":"","LastCanceledRunJobUrl":"","TotalSuccessfulRunsSinceStart":0,"TotalFailedRunsSinceStart":0,"TotalCanceledRunsSinceStart":0}]})";
}

template <class Pred>
bool fault_wait(Pred pred, std::chrono::milliseconds limit) {
  return fault_test::wait_for(pred, limit).has_value();
}

std::string node_id(int port) {
  auto c = redis_cluster::plain(port);
  auto r = c.command("CLUSTER", "MYID");
  REQUIRE(r);
  return r->str;
}

std::int64_t keys_in_slot(int port, std::uint16_t slot) {
  auto c = redis_cluster::plain(port);
  auto r = c.command("CLUSTER", "COUNTKEYSINSLOT", static_cast<int>(slot));
  REQUIRE(r);
  return r->integer;
}

// Waits until each master's writes reached a replica, so a failover loses none of them.
void replicate(redis::cluster_client& c) {
  for (const auto& m : c.slots().masters()) {
    auto p = redis_cluster::plain(m.port);
    auto r = p.command("WAIT", 1, 1000);
    CAPTURE((r ? std::string() : r.error().to_string()));
    REQUIRE(r);
    CHECK(r->integer >= 1);
  }
}

}  // namespace

TEST_CASE("key slots agree with the server's CLUSTER KEYSLOT") {
  auto c = redis_cluster::plain(shared().seed_port());
  std::vector<std::string> keys{"", "123456789", "{user1000}.following", "{user1000}.followers", "foo{}{bar}",
                                "foo{{bar}}zap", "foo{bar}{zap}", "{}", "}{", "{a", std::string("\0\xff{\x01}", 5)};
  for (int i = 0; i < 300; ++i) keys.push_back("anklet/metrics/owner-" + std::to_string(i % 7) + "/runner-" + std::to_string(i));
  for (const auto& k : keys) {
    CAPTURE(k);
    auto r = c.command("CLUSTER", "KEYSLOT", k);
    REQUIRE(r);
    CHECK(r->integer == redis::key_slot(k));
  }
}

TEST_CASE("commands go to the slot's master, without redirections") {
  redis::cluster_client c(cluster_opts());
  for (int i = 0; i < 60; ++i) REQUIRE(c.set("route/" + std::to_string(i), std::to_string(i), 60s));
  for (int i = 0; i < 60; ++i) {
    auto v = c.get("route/" + std::to_string(i));
    REQUIRE(v);
    CHECK(v->value_or("") == std::to_string(i));
  }
  CHECK(c.redirections() == 0);
  REQUIRE(c.slots().masters().size() == 3);
  CHECK(c.node_count() == 3);  // the seed is a master here; replicas are not connected
  std::int64_t total = 0;
  for (const auto& m : c.slots().masters()) {
    auto p = redis_cluster::plain(m.port);
    auto n = p.command("DBSIZE");
    REQUIRE(n);
    CHECK(n->integer > 0);
    total += n->integer;
  }
  CHECK(total >= 60);
  for (int i = 0; i < 60; ++i) CHECK(c.del("route/" + std::to_string(i)).value() == 1);
}

TEST_CASE("ASK while a slot migrates, MOVED once it has moved") {
  redis::cluster_client c(cluster_opts());
  const std::string key = "anklet/metrics/acme/moving";
  REQUIRE(c.set(key, "v1"));
  const std::uint16_t slot = redis::key_slot(key);
  const auto src = *c.slots().master_of(slot);
  redis::cluster_node dst;
  for (const auto& m : c.slots().masters()) {
    if (!(m == src)) dst = m;
  }
  const std::string src_id = node_id(src.port);
  const std::string dst_id = node_id(dst.port);
  auto s = redis_cluster::plain(src.port);
  auto d = redis_cluster::plain(dst.port);
  REQUIRE(d.command("CLUSTER", "SETSLOT", static_cast<int>(slot), "IMPORTING", src_id));
  REQUIRE(s.command("CLUSTER", "SETSLOT", static_cast<int>(slot), "MIGRATING", dst_id));

  // A key of the slot that the source does not hold is answered with ASK.
  const std::string fresh = "{" + key + "}.new";
  REQUIRE(redis::key_slot(fresh) == slot);
  const auto before = c.redirections();
  REQUIRE(c.set(fresh, "v2"));
  CHECK(c.redirections() == before + 1);
  CHECK(keys_in_slot(dst.port, slot) == 1);
  CHECK(keys_in_slot(src.port, slot) == 1);
  CHECK(c.slots().master_of(slot)->port == src.port);  // ASK leaves the map alone
  CHECK(c.get(key).value().value_or("") == "v1");
  CHECK(c.get(fresh).value().value_or("") == "v2");

  // Finish the move: the key migrates and every master learns the slot's new owner.
  REQUIRE(s.command("MIGRATE", "127.0.0.1", static_cast<int>(dst.port), "", 0, 5000, "KEYS", key));
  for (const auto& m : c.slots().masters()) {
    auto p = redis_cluster::plain(m.port);
    REQUIRE(p.command("CLUSTER", "SETSLOT", static_cast<int>(slot), "NODE", dst_id));
  }
  const auto moved_before = c.redirections();
  CHECK(c.get(key).value().value_or("") == "v1");
  CHECK(c.redirections() == moved_before + 1);  // MOVED, then the retry on the new owner
  CHECK(c.slots().master_of(slot)->port == dst.port);
  CHECK(c.get(fresh).value().value_or("") == "v2");
  CHECK(c.redirections() == moved_before + 1);
  CHECK(c.del(key).value() == 1);
  CHECK(c.del(fresh).value() == 1);
}

TEST_CASE("the aggregator reads every master of the cluster") {
  redis::cluster_client c(cluster_opts());
  for (int i = 0; i < 150; ++i) {
    REQUIRE(c.set("anklet/metrics/acme/host-" + std::to_string(i), payload("host-" + std::to_string(i), i)));
  }
  REQUIRE(c.set("anklet/metrics/acme/broken", "not json"));
  REQUIRE(c.command_for_key("anklet/metrics/acme/a-list", "RPUSH", "anklet/metrics/acme/a-list", "x"));
  REQUIRE(c.set("elsewhere/not-matched", payload("nope", 0)));

  redis::cluster_client reader(cluster_opts());
  fleet f;
  auto r = read_fleet(reader, f);
  REQUIRE(r);
  CHECK(f.keys_seen == 152);
  CHECK(f.hosts.size() == 150);
  CHECK(f.skipped_count(skip_reason::malformed) == 1);
  CHECK(f.skipped_count(skip_reason::missing) == 1);
  CHECK(std::is_sorted(f.hosts.begin(), f.hosts.end(),
                       [](const fleet_host& a, const fleet_host& b) { return a.key < b.key; }));
  // The keys live on all three masters: reading one node would miss two thirds.
  for (const auto& m : reader.slots().masters()) {
    auto p = redis_cluster::plain(m.port);
    auto n = p.command("DBSIZE");
    REQUIRE(n);
    CHECK(n->integer > 20);
  }

  aggregator_options ao;
  ao.client = node_options(shared().seed_port());
  ao.cluster = true;
  aggregator agg(ao);
  auto resp = agg.respond("GET", "/metrics/v2", "format=json");
  CHECK(resp.status == 200);
  CHECK(std::count(resp.body.begin(), resp.body.end(), '{') == 150);

  for (int i = 0; i < 150; ++i) CHECK(c.del("anklet/metrics/acme/host-" + std::to_string(i)).value() == 1);
  for (const char* k : {"anklet/metrics/acme/broken", "anklet/metrics/acme/a-list", "elsewhere/not-matched"}) {
    CHECK(c.del(k).value() == 1);
  }
}

TEST_CASE("failover during export: writer and aggregator carry on, nothing is lost") {
  auto& cl = shared();
  redis::cluster_client fill(cluster_opts());
  constexpr int fleet_size = 120;
  for (int i = 0; i < fleet_size; ++i) {
    REQUIRE(fill.set("anklet/metrics/acme/fleet-" + std::to_string(i), payload("fleet-" + std::to_string(i), i)));
  }

  store st;
  auto h = st.add_handler({"drill", "github", "acme", ""});
  redis::writer_options wo;
  wo.client = node_options(cl.seed_port());
  wo.cluster = true;
  wo.interval = 100ms;
  const std::string key = redis::metrics_key("acme", "drill");
  wo.key = key;
  redis::writer w(wo);
  w.start([&](metrics_snapshot& out) { st.snapshot_into(out); });
  REQUIRE(fault_wait([&] { return w.health().writes_ok >= 2; }, 5s));
  replicate(fill);

  redis::cluster_client reader(cluster_opts());
  fleet f;
  REQUIRE(read_fleet(reader, f));
  REQUIRE(f.hosts.size() == fleet_size + 1);

  // Kill the master of the writer's key: its replica must take over.
  const int victim = reader.slots().master_of(redis::key_slot(key))->port;
  const auto killed_at_wall = system_clock{}.now();
  const auto t0 = steady::now();
  cl.by_port(victim)->kill();

  std::vector<double> latencies_ms;
  int runs = 0;
  bool fleet_back = false;
  bool writer_back = false;
  std::optional<steady::duration> fleet_recovered;
  std::optional<steady::duration> writer_recovered;
  while (steady::now() - t0 < 20s && !(fleet_back && writer_back)) {
    h.finish_run(run_outcome::successful, "https://ci/run/" + std::to_string(++runs));
    const auto r0 = steady::now();
    const bool ok = static_cast<bool>(read_fleet(reader, f)) && f.hosts.size() == fleet_size + 1;
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - r0).count());
    if (ok && !fleet_back) {
      fleet_back = true;
      fleet_recovered = steady::now() - t0;
    }
    const auto health = w.health();
    if (!writer_back && health.last_success > killed_at_wall && health.writes_failed > 0 && health.healthy()) {
      writer_back = true;
      writer_recovered = steady::now() - t0;
    }
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(fleet_back);
  REQUIRE(writer_back);
  CHECK(reader.slots().master_of(redis::key_slot(key))->port != victim);

  // The next good write carries the current state: every run counted during the outage.
  const int final_runs = runs;
  REQUIRE(fault_wait(
      [&] {
        auto v = fill.get(key);
        return v && v->has_value() &&
               (*v)->find("\"TotalSuccessfulRunsSinceStart\":" + std::to_string(final_runs)) != std::string::npos;
      },
      3s));
  w.stop();
  REQUIRE(read_fleet(reader, f));
  CHECK(f.hosts.size() == fleet_size + 1);  // the replica had every key of the dead master

  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double p99 = latencies_ms[std::min(latencies_ms.size() - 1, latencies_ms.size() * 99 / 100)];
  const double fleet_s = std::chrono::duration<double>(*fleet_recovered).count();
  const double writer_s = std::chrono::duration<double>(*writer_recovered).count();
  MESSAGE("failover: fleet read back after " << fleet_s << " s, writer after " << writer_s << " s; p99 of "
                                             << latencies_ms.size() << " reads " << p99 << " ms");
  if (const char* path = std::getenv("ANKLET_CLUSTER_FIGURES"); path && *path) {
    if (std::FILE* out = std::fopen(path, "w")) {
      std::fprintf(out, "{\"fleet_recovered_s\": %.2f, \"writer_recovered_s\": %.2f, \"reads\": %zu, \"read_p99_ms\": %.1f}\n",
                   fleet_s, writer_s, latencies_ms.size(), p99);
      std::fclose(out);
    }
  }
  CHECK(redis::cluster_client(cluster_opts()).del(key).value() == 1);
}
