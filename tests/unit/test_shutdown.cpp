// Shutdown under load: the responder is stopped while scrapes are in flight (fresh
// connections, slow readers with large answers still queued, incomplete requests, idle
// keep-alive, store updates). stop() must return promptly, every client connection must be
// closed, and no descriptor or allocation may be left behind (the ASan run of CI has
// detect_leaks=1, so LeakSanitizer checks the latter when this binary exits).
// ANKLET_SHUTDOWN_JSON=FILE writes the measured figures for docs/reliability.md.
#include <dirent.h>
#include <poll.h>
#include <sys/socket.h>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "anklet/metrics/http/metrics_routes.hpp"
#include "anklet/metrics/store.hpp"
#include "http_test_client.hpp"
#include "sanitizers.hpp"

using namespace anklet::metrics;
using namespace anklet::metrics::http;
using namespace std::chrono_literals;

namespace {

std::size_t open_fds() {
  std::size_t n = 0;
#if defined(__APPLE__)
  constexpr const char* fd_dir = "/dev/fd";  // macOS has no /proc
#else
  constexpr const char* fd_dir = "/proc/self/fd";
#endif
  if (DIR* d = ::opendir(fd_dir)) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
  }
  return n;
}

// Waits up to `limit` for the server to close the connection: true on EOF or reset.
bool closed_within(test_http::client& c, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  char buf[65536];
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const auto n = ::recv(c.fd(), buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0 && (errno == ECONNRESET || errno == EPIPE)) return true;
  }
  return false;
}

// Figures for the report, written when the binary exits.
struct shutdown_figures {
  double slowest_stop_ms = 0;
  int rounds = 0;
  int held_connections_closed = 0;
  int scrapes_before_stop = 0;
  ~shutdown_figures() {
    const char* path = std::getenv("ANKLET_SHUTDOWN_JSON");
    if (path == nullptr || *path == '\0') return;
    if (std::FILE* f = std::fopen(path, "w")) {
      std::fprintf(f,
                   "{\"slowest_stop_ms\": %.2f, \"rounds\": %d, \"held_connections_closed\": %d, "
                   "\"scrapes_before_stop\": %d}\n",
                   slowest_stop_ms, rounds, held_connections_closed, scrapes_before_stop);
      std::fclose(f);
    }
  }
} figures;

// stop() waits for the request being answered: the promise is 100 ms, wider under sanitizers.
constexpr auto stop_bound = 100ms * anklet_test::sanitizer_slowdown;

constexpr std::string_view scrape = "GET /metrics/v1?format=prometheus HTTP/1.1\r\nHost: t\r\n\r\n";

}  // namespace

TEST_CASE("stop() while scrapes are in flight: prompt, every connection closed, nothing left open") {
  store s;
  std::vector<decltype(s.add_handler({}))> handlers;
  // Enough plugins that an answer is far larger than a socket buffer, so slow readers
  // still have output queued when the server stops.
  for (int i = 0; i < 400; ++i) {
    handlers.push_back(s.add_handler({"runner-" + std::to_string(i), "github", "org", "repo-" + std::to_string(i)}));
  }
  const auto fds_before = open_fds();
  std::chrono::nanoseconds worst_stop{0};

  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    server_options o;
    o.port = 0;
    o.cache_bodies = round != 1;  // one round renders on every request
    auto srv = std::make_unique<server<store>>(s, o);
    srv->start();
    const auto port = srv->port();

    std::atomic<bool> server_gone{false};
    std::atomic<int> scrapes_ok{0};
    std::vector<std::thread> threads;
    // A failed REQUIRE below leaves the round by an exception: the threads end and are
    // joined on every way out, or their destructors would end the process.
    struct stop_threads {
      std::atomic<bool>& gone;
      std::vector<std::thread>& all;
      ~stop_threads() {
        gone.store(true);
        for (auto& t : all) {
          if (t.joinable()) t.join();
        }
      }
    } joined_on_exit{server_gone, threads};
    // Fresh-connection scrapers: each answer is complete or the connection fails, never hangs.
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&] {
        while (!server_gone.load()) {
          try {
            const auto r = test_http::get(port, "/metrics/v1?format=prometheus");
            if (r && r->status == 200) scrapes_ok.fetch_add(1);
          } catch (const std::exception&) {  // refused once the listener is gone
          }
        }
      });
    }
    // Store updates during the scrapes.
    threads.emplace_back([&] {
      for (std::size_t i = 0; !server_gone.load(); ++i) {
        auto& h = handlers[i % handlers.size()];
        h.set_status(plugin_status::in_progress);
        h.finish_run(run_outcome::successful, "https://example.org/run/" + std::to_string(i));
      }
    });

    // Connections held open across stop(): slow readers, incomplete requests, idle keep-alive.
    std::vector<test_http::client> held;
    for (int i = 0; i < 4; ++i) {
      held.emplace_back(port);
      std::string pipelined;
      for (int k = 0; k < 8; ++k) pipelined += scrape;
      held.back().send(pipelined);
    }
    for (int i = 0; i < 4; ++i) {
      held.emplace_back(port);
      held.back().send("GET /metrics/v1?format=prometheus HTTP/1.1\r\nHost: t\r\nX-Slow: ");
    }
    for (int i = 0; i < 4; ++i) {
      held.emplace_back(port);
      held.back().send(scrape);
      // Its turn comes after renders of 400 plugins for the other clients, store updates
      // invalidating each: seconds under ThreadSanitizer.
      held.back().set_receive_timeout(5000ms * anklet_test::sanitizer_slowdown);
      REQUIRE(held.back().read_response());
    }
    while (scrapes_ok.load() < 10) std::this_thread::sleep_for(1ms);

    const auto t0 = std::chrono::steady_clock::now();
    srv->stop();
    const auto took = std::chrono::steady_clock::now() - t0;
    worst_stop = std::max(worst_stop, std::chrono::duration_cast<std::chrono::nanoseconds>(took));
    CHECK_FALSE(srv->running());
    CHECK(srv->stats().open_connections == 0);
    // Prompt: no waiting for read or write timeouts (10 s each by default).
    CHECK(took < stop_bound);

    for (auto& c : held) {
      const bool closed = closed_within(c, 2000ms);
      CHECK(closed);
      figures.held_connections_closed += closed ? 1 : 0;
    }
    figures.scrapes_before_stop += scrapes_ok.load();
    ++figures.rounds;
    server_gone.store(true);
    for (auto& t : threads) t.join();
    held.clear();
    srv.reset();
    CHECK(scrapes_ok.load() >= 10);
  }
  figures.slowest_stop_ms = std::chrono::duration<double, std::milli>(worst_stop).count();
  MESSAGE("slowest stop(): " << std::chrono::duration<double, std::milli>(worst_stop).count() << " ms");
  CHECK(open_fds() == fds_before);
}

TEST_CASE("destroying a running server under load stops it the same way") {
  store s;
  auto h = s.add_handler({"runner", "github", "org", "repo"});
  const auto fds_before = open_fds();
  std::vector<test_http::client> held;
  {
    server_options o;
    o.port = 0;
    server<store> srv(s, o);
    srv.start();
    for (int i = 0; i < 8; ++i) {
      held.emplace_back(srv.port());
      held.back().send(i % 2 == 0 ? std::string(scrape) : std::string("GET /metr"));
    }
    h.set_status(plugin_status::running);
  }  // ~basic_server: stop() with connections in every state
  for (auto& c : held) CHECK(closed_within(c, 2000ms));
  held.clear();
  CHECK(open_fds() == fds_before);
}
