// The Redis writer (SPEC 7 export and Cleanup) against a real redis-server.
#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "anklet/metrics/fleet/payload_reader.hpp"
#include "anklet/metrics/host/source.hpp"
#include "anklet/metrics/redis/writer.hpp"
#include "anklet/metrics/store.hpp"
#include "anklet/metrics/transport.hpp"
#include "eventually.hpp"
#include "host_fixture.hpp"
#include "redis_test_server.hpp"

using namespace anklet::metrics;
using namespace std::chrono_literals;
using anklet_test::redis_server;
using anklet_test::sample_host;
using nlohmann::json;

namespace {

redis::writer_options options_for(const std::string& url,
                                  std::string key = redis::metrics_key("veertuinc", "RUNNER1")) {
  redis::writer_options o;
  o.key = std::move(key);
  o.client.target = redis::parse_url(url).value();
  o.client.connect_timeout = 500ms;
  o.client.read_timeout = 500ms;
  o.client.write_timeout = 500ms;
  o.client.backoff_initial = 20ms;
  o.client.backoff_max = 200ms;
  o.interval = 100ms;
  return o;
}

redis::client reader_for(const std::string& url) { return redis::client::from_url(url).value(); }

using anklet_test::eventually;

std::set<std::string> keys_of(const json& obj) {
  std::set<std::string> out;
  for (auto it = obj.begin(); it != obj.end(); ++it) out.insert(it.key());
  return out;
}

void check_time_string(const json& v) {
  REQUIRE(v.is_string());
  zoned_time t;
  CHECK(parse_rfc3339(v.get<std::string>(), t));
}

// The writer's log lines, kept for the checks (the writer logs from its own thread).
class captured_log {
 public:
  explicit captured_log(redis::writer& w) {
    w.set_log([this](redis::log_level, std::string_view line) {
      std::lock_guard lock(m_);
      lines_.emplace_back(line);
    });
  }
  [[nodiscard]] std::vector<std::string> lines() const {
    std::lock_guard lock(m_);
    return lines_;
  }

 private:
  mutable std::mutex m_;
  std::vector<std::string> lines_;
};

// A fixed source that the test may change while the writer's thread samples it.
class switchable_source {
 public:
  explicit switchable_source(host_sample s) : sample_(std::move(s)) {}
  host_sample sample() {
    std::lock_guard lock(m_);
    return sample_;
  }
  void set(host_sample s) {
    std::lock_guard lock(m_);
    sample_ = std::move(s);
  }

 private:
  std::mutex m_;
  host_sample sample_;
};

}  // namespace

TEST_CASE("key rule: owner and name, empty owner, first plugin, none") {
  CHECK(redis::metrics_key("veertuinc", "RUNNER1") == "anklet/metrics/veertuinc/RUNNER1");
  CHECK(redis::metrics_key("", "RUNNER1") == "anklet/metrics/RUNNER1");
  store_st s;
  CHECK(redis::metrics_key(s.snapshot()).empty());
  s.add_receiver({"RECV", "github_receiver", "", ""});
  s.add_handler({"RUNNER1", "github", "org", ""});
  CHECK(redis::metrics_key(s.snapshot()) == "anklet/metrics/RECV");
}

TEST_CASE("a write: SET EX 604800 under the key rule, with SPEC 7's field names and JSON types") {
  redis_server srv;
  store st;
  auto h = st.add_handler({"RUNNER1", "github", "veertuinc", "anklet"});
  st.add_receiver({"RECV1", "github_receiver", "veertuinc", ""});
  h.finish_run(run_outcome::successful, "https://github.com/veertuinc/anklet/actions/runs/1?a=1&b=<2>");
  h.increment_running_vms();
  st.set_host_metrics(sample_host());

  redis::writer w(options_for(srv.url()));
  static_assert(transport<redis::writer>);
  auto r = w.write(st.snapshot());
  REQUIRE(r);

  auto c = reader_for(srv.url());
  const std::string key = "anklet/metrics/veertuinc/RUNNER1";
  auto ttl = c.ttl(key);
  REQUIRE(ttl);
  CHECK(*ttl <= 604800);
  CHECK(*ttl > 604800 - 60);
  auto v = c.get(key);
  REQUIRE(v);
  REQUIRE(v->has_value());
  const json doc = json::parse(**v);
  REQUIRE(doc.is_object());

  const std::set<std::string> top{"last_update", "total_running_vms", "total_successful_runs_since_start",
                                  "total_failed_runs_since_start", "total_canceled_runs_since_start",
                                  "host_cpu_count", "host_cpu_used_count", "host_cpu_usage_percentage",
                                  "host_memory_total_bytes", "host_memory_used_bytes",
                                  "host_memory_available_bytes", "host_memory_usage_percentage",
                                  "host_disk_total_bytes", "host_disk_used_bytes", "host_disk_available_bytes",
                                  "host_disk_usage_percentage", "plugins"};
  CHECK(keys_of(doc) == top);
  check_time_string(doc["last_update"]);
  for (auto name : {"total_running_vms", "total_successful_runs_since_start", "total_failed_runs_since_start",
                    "total_canceled_runs_since_start", "host_cpu_count", "host_cpu_used_count",
                    "host_memory_total_bytes", "host_memory_used_bytes", "host_memory_available_bytes",
                    "host_disk_total_bytes", "host_disk_used_bytes", "host_disk_available_bytes"}) {
    CAPTURE(name);
    CHECK(doc[name].is_number_unsigned());
  }
  for (auto name : {"host_cpu_usage_percentage", "host_memory_usage_percentage", "host_disk_usage_percentage"}) {
    CAPTURE(name);
    CHECK(doc[name].is_number());
  }
  CHECK(doc["total_running_vms"] == 1);
  CHECK(doc["total_successful_runs_since_start"] == 1);
  CHECK(doc["host_cpu_usage_percentage"] == 25.5);
  CHECK(doc["host_disk_total_bytes"] == 500000000000ull);

  REQUIRE(doc["plugins"].is_array());
  REQUIRE(doc["plugins"].size() == 2);
  const json& handler = doc["plugins"][0];
  const json& receiver = doc["plugins"][1];
  const std::set<std::string> base{"Name", "PluginName", "RepoName", "OwnerName", "Status", "StatusSince"};
  std::set<std::string> full = base;
  full.insert({"LastSuccessfulRunJobUrl", "LastFailedRunJobUrl", "LastCanceledRunJobUrl", "LastSuccessfulRun",
               "LastFailedRun", "LastCanceledRun", "TotalRanVMs", "TotalSuccessfulRunsSinceStart",
               "TotalFailedRunsSinceStart", "TotalCanceledRunsSinceStart"});
  CHECK(keys_of(handler) == full);
  CHECK(keys_of(receiver) == full);  // Go's aggregator asserts all 16 fields of every plugin
  for (auto name : {"Name", "PluginName", "RepoName", "OwnerName", "Status", "LastSuccessfulRunJobUrl",
                    "LastFailedRunJobUrl", "LastCanceledRunJobUrl"}) {
    CAPTURE(name);
    CHECK(handler[name].is_string());
  }
  for (auto name : {"StatusSince", "LastSuccessfulRun", "LastFailedRun", "LastCanceledRun"}) {
    CAPTURE(name);
    check_time_string(handler[name]);
  }
  for (auto name : {"TotalRanVMs", "TotalSuccessfulRunsSinceStart", "TotalFailedRunsSinceStart",
                    "TotalCanceledRunsSinceStart"}) {
    CAPTURE(name);
    CHECK(handler[name].is_number_unsigned());
  }
  CHECK(handler["Name"] == "RUNNER1");
  CHECK(handler["RepoName"] == "anklet");
  CHECK(handler["LastSuccessfulRunJobUrl"] == "https://github.com/veertuinc/anklet/actions/runs/1?a=1&b=<2>");
  CHECK(handler["LastFailedRun"] == "0001-01-01T00:00:00Z");
  CHECK(handler["TotalRanVMs"] == 1);
  CHECK(receiver["Name"] == "RECV1");
  CHECK(receiver["Status"] == "idle");

  // The payload reads back through the aggregator's reader.
  host_report back;
  REQUIRE(read_payload(**v, back));
  CHECK(back.plugins.size() == 2);
  CHECK(back.host == sample_host());

  auto hl = w.health();
  CHECK(hl.writes_ok == 1);
  CHECK(hl.writes_failed == 0);
  CHECK(hl.healthy());
  CHECK(hl.key == key);
  CHECK_FALSE(is_never(hl.last_success));
}

TEST_CASE("the key is the one the options name, whatever plugin registered first") {
  redis_server srv;
  store st;
  st.add_handler({"H", "github", "", ""});
  st.add_handler({"OTHER", "github", "org", ""});
  auto c = reader_for(srv.url());
  {
    redis::writer w(options_for(srv.url(), redis::metrics_key("", "H")));
    REQUIRE(w.write(st.snapshot()));
    CHECK(c.exists("anklet/metrics/H").value() == 1);
  }
  redis::writer w(options_for(srv.url(), "anklet/metrics/custom/key"));
  REQUIRE(w.write(st.snapshot()));
  CHECK(c.exists("anklet/metrics/custom/key").value() == 1);
  CHECK(c.scan_all("*").value().size() == 2);
}

TEST_CASE("a writer without a key is refused at once, with the rule to name it") {
  try {
    redis::writer w(options_for("redis://127.0.0.1:1", ""));
    FAIL("an empty key was accepted");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string_view(e.what()).find("redis::metrics_key(owner, name)") != std::string_view::npos);
  }
}

TEST_CASE("Cleanup deletes the key; a failure is reported, not thrown") {
  redis_server srv;
  store st;
  st.add_handler({"RUNNER1", "github", "veertuinc", ""});
  st.add_handler({"RUNNER2", "github", "veertuinc", ""});
  redis::writer w(options_for(srv.url()));
  std::vector<std::string> lines;
  std::mutex m;
  w.set_log([&](redis::log_level, std::string_view line) {
    std::lock_guard lock(m);
    lines.emplace_back(line);
  });
  REQUIRE(w.write(st.snapshot()));
  auto c = reader_for(srv.url());
  REQUIRE(c.exists("anklet/metrics/veertuinc/RUNNER1").value() == 1);

  auto gone = w.cleanup("veertuinc", "RUNNER1");
  REQUIRE(gone);
  CHECK(*gone);
  CHECK(c.exists("anklet/metrics/veertuinc/RUNNER1").value() == 0);
  auto again = w.cleanup();  // the key written last: already gone
  REQUIRE(again);
  CHECK_FALSE(*again);

  REQUIRE(w.write(st.snapshot()));
  CHECK(w.cleanup("anklet/metrics/veertuinc/RUNNER1").value());

  srv.kill();
  auto failed = w.cleanup("veertuinc", "RUNNER1");
  REQUIRE_FALSE(failed);
  std::lock_guard lock(m);
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.back().find("cleanup of anklet/metrics/veertuinc/RUNNER1 failed") != std::string::npos);
}

TEST_CASE("Cleanup right after an outage deletes the key, whatever the reconnect backoff says") {
  redis_server srv;
  store st;
  st.add_handler({"RUNNER1", "github", "veertuinc", ""});
  no_host_source source;
  auto o = options_for(srv.url());
  // Backoff that grows fast and far past the shutdown below: 300 ms, 1.2 s, 4.8 s, ...
  o.client.backoff_initial = 300ms;
  o.client.backoff_multiplier = 4;
  o.client.backoff_max = 60s;
  o.client.backoff_jitter = 0;
  redis::writer w(o);
  const captured_log log(w);
  const std::string key = "anklet/metrics/veertuinc/RUNNER1";
  w.start(st, source);
  REQUIRE(eventually([&] { return w.health().writes_ok >= 1; }));
  const std::string payload = reader_for(srv.url()).get(key).value().value();

  srv.kill();
  // Wait until the client holds reconnects back for seconds (its third failed connect).
  REQUIRE(eventually([&] {
    const auto e = w.health().last_error;
    if (!e || e->code != redis::errc::backoff) return false;
    const auto at = e->message.find("for another ");
    return at != std::string::npos && std::stol(e->message.substr(at + 12)) > 2500;
  }));
  // Back on the same port with its data (--save "" forgets it, so it is put back).
  REQUIRE(srv.start(srv.port()));
  auto c = reader_for(srv.url());
  REQUIRE(c.set(key, payload, 604800s));
  std::this_thread::sleep_for(1s);  // SIGTERM a second later, still inside the backoff window
  w.stop();

  auto gone = w.cleanup();
  const auto lines = log.lines();
  INFO("last log line: " << (lines.empty() ? std::string() : lines.back()));
  REQUIRE(gone);
  CHECK(*gone);
  CHECK(c.exists(key).value() == 0);
}

TEST_CASE("periodic export: first write at start, host figures refreshed, survives a Redis restart") {
  redis_server srv;
  store st;
  auto h = st.add_handler({"RUNNER1", "github", "veertuinc", ""});
  fixed_host_source source(sample_host());
  redis::writer w(options_for(srv.url()));
  std::mutex m;
  std::vector<std::pair<redis::log_level, std::string>> lines;
  w.set_log([&](redis::log_level l, std::string_view line) {
    std::lock_guard lock(m);
    lines.emplace_back(l, std::string(line));
  });
  const std::string key = "anklet/metrics/veertuinc/RUNNER1";
  auto c = reader_for(srv.url());

  w.start(st, source);
  CHECK(w.running());
  REQUIRE(eventually([&] { auto e = c.exists(key); return e && *e == 1; }));
  {
    host_report r;
    REQUIRE(read_payload(c.get(key).value().value(), r));
    CHECK(r.host == sample_host());  // the store had none: the source's figures were taken
  }

  srv.kill();
  h.increment_successful_runs();
  h.increment_successful_runs();
  h.increment_failed_runs();
  REQUIRE(eventually([&] { return w.health().consecutive_failures >= 2; }));
  auto down = w.health();
  CHECK(down.running);
  CHECK_FALSE(down.healthy());
  REQUIRE(down.last_error.has_value());
  CHECK(down.writes_failed >= 2);
  h.increment_canceled_runs();  // also after the failures began

  REQUIRE(srv.start(srv.port()));
  const auto ok_before = w.health().writes_ok;
  REQUIRE(eventually([&] { return w.health().writes_ok > ok_before; }));
  auto c2 = reader_for(srv.url());
  host_report r;
  REQUIRE(read_payload(c2.get(key).value().value(), r));
  CHECK(r.total_successful_runs_since_start == 2);
  CHECK(r.total_failed_runs_since_start == 1);
  CHECK(r.total_canceled_runs_since_start == 1);
  REQUIRE(r.plugins.size() == 1);
  CHECK(r.plugins[0].total_successful_runs_since_start == 2);
  CHECK(w.health().healthy());

  w.stop();
  CHECK_FALSE(w.running());
  w.stop();  // idempotent
  std::lock_guard lock(m);
  bool saw_failure = false, saw_recovery = false;
  for (const auto& [level, line] : lines) {
    saw_failure = saw_failure || (level == redis::log_level::error && line.find("failed (1 in a row)") != std::string::npos);
    saw_recovery = saw_recovery || line.find("recovered after") != std::string::npos;
  }
  CHECK(saw_failure);
  CHECK(saw_recovery);
}

TEST_CASE("a failing host source: the payload keeps the last good figures, health() and the log say why") {
  redis_server srv;
  store st;
  st.add_handler({"RUNNER1", "github", "veertuinc", ""});
  switchable_source source(host_sample{sample_host(), {}});
  redis::writer w(options_for(srv.url()));
  const captured_log log(w);
  const std::string key = "anklet/metrics/veertuinc/RUNNER1";
  auto c = reader_for(srv.url());
  w.start(st, source);
  REQUIRE(eventually([&] { return w.health().writes_ok >= 1; }));
  CHECK(w.health().host_error.empty());

  host_metrics newer = sample_host();
  newer.cpu_usage_percentage = 90;
  host_sample failing{newer, {}};
  failing.fail(host_part::memory, "open /proc/meminfo: Too many open files");
  source.set(failing);
  REQUIRE(eventually([&] { return !w.health().host_error.empty(); }));
  const auto ok_then = w.health().writes_ok;
  REQUIRE(eventually([&] { return w.health().writes_ok > ok_then; }));  // written after the failure
  host_report r;
  REQUIRE(read_payload(c.get(key).value().value(), r));
  CHECK(r.host.memory_total_bytes == sample_host().memory_total_bytes);
  CHECK(r.host.memory_usage_percentage == sample_host().memory_usage_percentage);
  CHECK(r.host.cpu_usage_percentage == 90);
  const auto h = w.health();
  CHECK(h.host_error == "memory: open /proc/meminfo: Too many open files");
  CHECK(h.host_samples_failed >= 1);

  source.set(host_sample{sample_host(), {}});
  REQUIRE(eventually([&] { return w.health().host_error.empty(); }));
  w.stop();
  std::size_t reported = 0;
  bool recovered = false;
  for (const auto& line : log.lines()) {
    reported += line.find("host metrics: memory: open /proc/meminfo") != std::string::npos ? 1U : 0U;
    recovered = recovered || line.find("host metrics read again") != std::string::npos;
  }
  CHECK(reported == 1);  // once per problem, not once per write
  CHECK(recovered);
}

TEST_CASE("stop returns while Redis hangs (bounded by the client's timeouts)") {
  redis_server srv;
  store st;
  st.add_handler({"RUNNER1", "github", "veertuinc", ""});
  no_host_source source;
  auto o = options_for(srv.url());
  o.client.read_timeout = 300ms;
  o.client.write_timeout = 300ms;
  o.client.connect_timeout = 300ms;
  redis::writer w(o);
  REQUIRE(::kill(srv.pid(), SIGSTOP) == 0);  // our own child: it accepts but never answers
  w.start(st, source);
  const bool failed = eventually([&] { return w.health().writes_failed >= 1; });
  const auto t0 = std::chrono::steady_clock::now();
  w.stop();
  const auto took = std::chrono::steady_clock::now() - t0;
  ::kill(srv.pid(), SIGCONT);
  CHECK(failed);
  REQUIRE(w.health().last_error.has_value());
  CHECK(w.health().last_error->code == redis::errc::timeout);
  // A liveness bound, not a speed test: one operation's timeouts plus generous slack.
  CHECK(took < 5s);
}

TEST_CASE("requirepass and an ACL user: right credentials write, wrong ones are reported") {
  SUBCASE("requirepass") {
    redis_server srv({.extra_args = {"--requirepass", "pw"}});
    store st;
    st.add_handler({"RUNNER1", "github", "o", ""});
    const auto port = std::to_string(srv.port());
    redis::writer good(options_for("redis://:pw@127.0.0.1:" + port));
    CHECK(good.write(st.snapshot()));
    redis::writer bad(options_for("redis://:wrong@127.0.0.1:" + port));
    auto r = bad.write(st.snapshot());
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("WRONGPASS") != std::string::npos);
    CHECK(bad.health().last_error->message.find("WRONGPASS") != std::string::npos);
  }
  SUBCASE("ACL user") {
    redis_server srv;
    REQUIRE(reader_for(srv.url()).command("ACL", "SETUSER", "exporter", "on", ">ex-pw", "~anklet/metrics/*", "+@all"));
    store st;
    st.add_handler({"RUNNER1", "github", "o", ""});
    const auto port = std::to_string(srv.port());
    redis::writer good(options_for("redis://exporter:ex-pw@127.0.0.1:" + port));
    REQUIRE(good.write(st.snapshot()));
    CHECK(good.cleanup().value());
    redis::writer bad(options_for("redis://exporter:nope@127.0.0.1:" + port));
    auto r = bad.write(st.snapshot());
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("WRONGPASS") != std::string::npos);
    // The ACL's key pattern holds: a key outside it is refused by the server.
    auto o = options_for("redis://exporter:ex-pw@127.0.0.1:" + port);
    o.key = "elsewhere";
    redis::writer outside(o);
    auto denied = outside.write(st.snapshot());
    REQUIRE_FALSE(denied);
    CHECK(denied.error().code == redis::errc::server);
    CHECK(denied.error().message.starts_with("NOPERM"));
  }
}

TEST_CASE("a collect function that throws is reported, and the thread carries on") {
  redis_server srv;
  store st;
  st.add_handler({"RUNNER1", "github", "o", ""});
  redis::writer w(options_for(srv.url()));
  std::atomic<int> calls{0};
  w.start([&](metrics_snapshot& out) {
    if (calls.fetch_add(1) == 0) throw std::runtime_error("boom");
    st.snapshot_into(out);
  });
  REQUIRE(eventually([&] { return w.health().writes_ok >= 1; }));
  w.stop();
  auto hl = w.health();
  CHECK(hl.writes_failed >= 1);
  REQUIRE(hl.last_error.has_value());
  CHECK(hl.last_error->message.find("boom") != std::string::npos);
  CHECK_THROWS_AS(w.start(nullptr), std::invalid_argument);
}

TEST_CASE("as a transport in an exporter") {
  redis_server srv;
  store st;
  st.add_handler({"RUNNER1", "github", "o", ""});
  fixed_host_source source(sample_host());
  redis::writer w(options_for(srv.url(), redis::metrics_key("o", "RUNNER1")));
  memory_transport mem;
  exporter ex{st, source, w, mem};
  auto res = ex.publish();
  CHECK(res.delivered == 2);
  CHECK(w.health().writes_ok == 1);
  host_report r;
  REQUIRE(read_payload(reader_for(srv.url()).get("anklet/metrics/o/RUNNER1").value().value(), r));
  CHECK(r.host == sample_host());
}
