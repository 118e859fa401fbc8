// Redis faults during export and aggregation, against a real redis-server started here on a
// free port: killed, restarted, paused with SIGSTOP for longer than the client timeouts, and
// replaced by a fake that answers -ERR to every command. The writer and the aggregator must
// keep running, report the trouble (writer health, aggregator 503), recover within one
// export interval once Redis is back, and Redis must then hold the store's current state.
//
// ANKLET_FAULTS_JSON=FILE writes the measured figures for docs/reliability.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "anklet/metrics/aggregator.hpp"
#include "anklet/metrics/json.hpp"
#include "anklet/metrics/payload_reader.hpp"
#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/writer.hpp"
#include "anklet/metrics/store.hpp"
#include "redis_test_server.hpp"

using namespace anklet::metrics;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// Short timeouts keep the test quick; the relations are what matter: the pause outlasts
// the timeouts, and the interval bounds recovery.
constexpr auto io_timeout = 200ms;
constexpr auto interval = 500ms;
constexpr auto pause_for = 1000ms;  // SIGSTOP: five times the timeouts
constexpr auto outage = 1200ms;     // each fault lasts this long: a few failed writes

redis::client_options client_opts(int port) {
  redis::client_options c;
  c.target = redis::parse_url("redis://127.0.0.1:" + std::to_string(port)).value();
  c.connect_timeout = io_timeout;
  c.read_timeout = io_timeout;
  c.write_timeout = io_timeout;
  c.backoff_initial = 20ms;
  c.backoff_max = 100ms;
  return c;
}

// Figures for the report: case -> (name -> value).
std::mutex figures_mutex;
std::map<std::string, std::map<std::string, double>> figures;

void record(const std::string& fault, const std::string& name, double value) {
  std::lock_guard lock(figures_mutex);
  figures[fault][name] = value;
}

struct figures_writer {
  ~figures_writer() {
    const char* path = std::getenv("ANKLET_FAULTS_JSON");
    if (path == nullptr || *path == '\0') return;
    std::FILE* f = std::fopen(path, "w");
    if (f == nullptr) return;
    std::fputs("{\n", f);
    bool first_case = true;
    for (const auto& [fault, values] : figures) {
      std::fprintf(f, "%s  \"%s\": {", first_case ? "" : ",\n", fault.c_str());
      bool first = true;
      for (const auto& [k, v] : values) {
        std::fprintf(f, "%s\"%s\": %.1f", first ? "" : ", ", k.c_str(), v);
        first = false;
      }
      std::fputs("}", f);
      first_case = false;
    }
    std::fputs("\n}\n", f);
    std::fclose(f);
  }
} write_figures_at_exit;

double ms(steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A stand-in for Redis on a given port that answers every command with -ERR. It parses
// RESP arrays of bulk strings, so pipelined commands get one error each.
class erroring_redis {
 public:
  explicit erroring_redis(int port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    bool bound = false;
    for (int attempt = 0; attempt < 100 && !bound; ++attempt) {
      bound = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
      if (!bound) std::this_thread::sleep_for(10ms);
    }
    if (!bound || ::listen(listen_fd_, 16) != 0) {
      ::close(listen_fd_);
      throw std::runtime_error("cannot listen on the Redis port for the fake");
    }
    thread_ = std::thread([this] { run(); });
  }
  erroring_redis(const erroring_redis&) = delete;
  erroring_redis& operator=(const erroring_redis&) = delete;
  ~erroring_redis() {
    stop_ = true;
    thread_.join();
    for (const int fd : clients_) ::close(fd);
    ::close(listen_fd_);
  }
  [[nodiscard]] int errors_sent() const { return errors_.load(); }

 private:
  struct peer {
    std::string in;
  };

  // Number of complete commands at the front of `in`, which is consumed; -1 when the
  // bytes are not RESP arrays of bulk strings (inline commands count per line).
  static int take_commands(std::string& in) {
    int n = 0;
    std::size_t pos = 0;
    for (;;) {
      const std::size_t start = pos;
      if (pos >= in.size()) break;
      auto line_end = in.find("\r\n", pos);
      if (line_end == std::string::npos) break;
      if (in[pos] != '*') {  // inline command
        pos = line_end + 2;
        ++n;
        continue;
      }
      const long items = std::strtol(in.c_str() + pos + 1, nullptr, 10);
      pos = line_end + 2;
      bool complete = true;
      for (long i = 0; i < items; ++i) {
        line_end = in.find("\r\n", pos);
        if (line_end == std::string::npos || in[pos] != '$') {
          complete = false;
          break;
        }
        const auto len = static_cast<std::size_t>(std::strtol(in.c_str() + pos + 1, nullptr, 10));
        pos = line_end + 2;
        if (in.size() < pos + len + 2) {
          complete = false;
          break;
        }
        pos += len + 2;
      }
      if (!complete) {
        pos = start;
        break;
      }
      ++n;
    }
    in.erase(0, pos);
    return n;
  }

  void run() {
    std::map<int, peer> peers;
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (const auto& [fd, p] : peers) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents != 0) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) peers[fd] = {};
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        char buf[65536];
        const auto n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          ::close(fds[i].fd);
          peers.erase(fds[i].fd);
          continue;
        }
        auto& p = peers[fds[i].fd];
        p.in.append(buf, static_cast<std::size_t>(n));
        const int commands = take_commands(p.in);
        std::string out;
        for (int k = 0; k < commands; ++k) out += "-ERR injected failure\r\n";
        if (!out.empty()) {
          [[maybe_unused]] const auto sent = ::send(fds[i].fd, out.data(), out.size(), MSG_NOSIGNAL);
          errors_ += commands;
        }
      }
    }
    for (const auto& [fd, p] : peers) clients_.push_back(fd);
  }

  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> errors_{0};
  std::vector<int> clients_;
  std::thread thread_;
};

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

template <class Pred>
std::optional<steady::duration> wait_for(Pred pred, std::chrono::milliseconds limit) {
  const auto t0 = steady::now();
  while (steady::now() - t0 < limit) {
    if (pred()) return steady::now() - t0;
    std::this_thread::sleep_for(5ms);
  }
  return std::nullopt;
}

// The fault drills: each function breaks Redis for `outage` and brings it back.
enum class fault { killed, paused, erroring };

const char* fault_name(fault f) {
  switch (f) {
    case fault::killed: return "killed_restarted";
    case fault::paused: return "sigstop_sigcont";
    case fault::erroring: return "err_to_every_command";
  }
  return "?";
}

// Breaks Redis, runs `during` while it is broken, restores it; returns when it is back.
template <class During>
void inject(fault f, anklet_test::redis_server& redis, During during) {
  const int port = redis.port();
  switch (f) {
    case fault::killed: {
      redis.kill();
      during();
      REQUIRE(redis.start(port));
      break;
    }
    case fault::paused: {
      REQUIRE(::kill(redis.pid(), SIGSTOP) == 0);
      during();
      REQUIRE(::kill(redis.pid(), SIGCONT) == 0);
      break;
    }
    case fault::erroring: {
      redis.kill();
      {
        erroring_redis fake(port);
        during();
        CHECK(fake.errors_sent() > 0);
      }
      REQUIRE(redis.start(port));
      break;
    }
  }
}

}  // namespace

TEST_CASE("Redis faults during export: the writer survives, reports, recovers, loses nothing") {
  anklet_test::redis_server redis;
  store s;
  auto h = s.add_handler({"runner-1", "github", "org", "repo"});
  s.add_receiver({"receiver-1", "github_receiver", "org", ""});

  redis::writer_options wo;
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
