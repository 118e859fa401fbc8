// The responder over real loopback sockets. Bodies come from a small test renderer, so
// these tests are about HTTP (routing, limits, connections), not about the formats.
#include "anklet/metrics/http/metrics_routes.hpp"

#include <fcntl.h>
#include <sys/resource.h>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <iterator>
#include <thread>
#include <vector>

#include "anklet/metrics/store.hpp"
#include "http_test_client.hpp"

using namespace anklet::metrics;
using namespace anklet::metrics::http;
using test_http::client;

namespace {

struct test_renderer {
  void render(metrics_format f, const metrics_snapshot& s, fmt::memory_buffer& out) const {
    fmt::format_to(std::back_inserter(out), "format={} plugins={} successful={}\n", to_string(f), s.plugins.size(),
                   s.total_successful_runs_since_start);
    for (const auto& p : s.plugins) {
      fmt::format_to(std::back_inserter(out), "{} {} {}\n", p.name, to_string(p.status),
                     p.total_successful_runs_since_start);
    }
  }
  [[nodiscard]] std::string_view content_type(metrics_format f) const noexcept {
    return f == metrics_format::json ? "application/json" : "text/plain; version=0.0.4; charset=utf-8";
  }
};

server_options local_options() {
  server_options o;
  o.address = "127.0.0.1";
  o.port = 0;
  return o;
}

using test_server = basic_server<store, test_renderer>;

}  // namespace

TEST_CASE("routes and status codes") {
  store s;
  s.add_handler({"h1", "github", "org", "repo"});
  test_server srv(s, local_options());
  srv.start();
  REQUIRE(srv.port() != 0);
  const auto port = srv.port();

  SUBCASE("each format") {
    for (const auto f : {metrics_format::prometheus, metrics_format::json, metrics_format::anklet}) {
      const auto r = test_http::get(port, "/metrics/v1?format=" + std::string(to_string(f)));
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->body.rfind("format=" + std::string(to_string(f)) + " plugins=1", 0) == 0);
      CHECK(r->header("content-type") == test_renderer{}.content_type(f));
      CHECK(r->header("content-length") == std::to_string(r->body.size()));
      CHECK(r->header("connection") == "close");
      CHECK_FALSE(r->header("date").empty());
    }
  }
  SUBCASE("a renderer that does not name its formats writes whole bodies and never OpenMetrics") {
    // No negotiation, no collectors' families appended, format=openmetrics unknown.
    auto r = test_http::get(port, "/metrics/v1?format=prometheus", "Accept: application/openmetrics-text\r\n");
    REQUIRE(r);
    CHECK(r->body == "format=prometheus plugins=1 successful=0\nh1 idle 0\n");
    CHECK(r->header("vary").empty());
    r = test_http::get(port, "/metrics/v1?format=openmetrics");
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->body.find("openmetrics") == std::string::npos);
  }
  SUBCASE("missing or unknown format: 400 naming the formats") {
    for (const char* target : {"/metrics/v1", "/metrics/v1?format=xml", "/metrics/v1?format=", "/metrics/v1?fmt=json"}) {
      const auto r = test_http::get(port, target);
      REQUIRE(r);
      CHECK(r->status == 400);
      CHECK(r->body.find("prometheus") != std::string::npos);
      CHECK(r->body.find("json") != std::string::npos);
      CHECK(r->body.find("anklet") != std::string::npos);
    }
  }
  SUBCASE("/metrics is 501, /healthcheck ok, unknown 404") {
    auto r = test_http::get(port, "/metrics");
    REQUIRE(r);
    CHECK(r->status == 501);
    CHECK(r->body == "please use /metrics/v1");
    r = test_http::get(port, "/healthcheck");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "ok");
    r = test_http::get(port, "/nope");
    REQUIRE(r);
    CHECK(r->status == 404);
    CHECK(r->body == "404 page not found\n");  // Go's http.NotFound
    r = test_http::get(port, "/metrics/v1/");
    REQUIRE(r);
    CHECK(r->status == 404);
  }
  SUBCASE("other methods: 405 with Allow") {
    for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
      const auto r = test_http::get(port, "/metrics/v1?format=json", {}, method);
      REQUIRE(r);
      CHECK(r->status == 405);
      CHECK(r->header("allow") == "GET, HEAD");
    }
  }
  SUBCASE("HEAD: same status and headers, no body") {
    for (const char* target : {"/metrics/v1?format=prometheus", "/healthcheck", "/metrics", "/x", "/metrics/v1"}) {
      const auto g = test_http::get(port, target);
      client c(port);
      c.send(std::string("HEAD ") + target + " HTTP/1.1\r\n\r\nGET /healthcheck HTTP/1.1\r\nConnection: close\r\n\r\n");
      const auto h = c.read_response(true);
      REQUIRE(g);
      REQUIRE(h);
      CHECK(h->status == g->status);
      CHECK(h->header("content-type") == g->header("content-type"));
      CHECK(h->header("content-length") == g->header("content-length"));
      // The next response follows at once: nothing of a body was sent after HEAD's headers.
      const auto next = c.read_response();
      REQUIRE(next);
      CHECK(next->body == "ok");
    }
  }
  SUBCASE("percent-encoded and reordered query parameters") {
    auto r = test_http::get(port, "/metrics/v1?x=1&fo%72mat=%6Ason&y");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body.rfind("format=json", 0) == 0);
    r = test_http::get(port, "/metrics%2Fv1?format=anklet");
    REQUIRE(r);
    CHECK(r->status == 200);
    r = test_http::get(port, "/metrics/v1?format=%zz");
    REQUIRE(r);
    CHECK(r->status == 400);  // no usable format
    // A malformed escape elsewhere is skipped, as Go's url.ParseQuery does.
    r = test_http::get(port, "/metrics/v1?x=%zz&format=json");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body.rfind("format=json", 0) == 0);
    r = test_http::get(port, "/metrics/v1?format=json&format=prometheus");
    REQUIRE(r);
    CHECK(r->body.rfind("format=json", 0) == 0);
  }
}

TEST_CASE("keep-alive and pipelining") {
  store s;
  test_server srv(s, local_options());
  srv.start();
  client c(srv.port());
  SUBCASE("sequential requests on one connection") {
    for (int i = 0; i < 5; ++i) {
      c.send("GET /healthcheck HTTP/1.1\r\nHost: a\r\n\r\n");
      const auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->header("connection").empty());
    }
    CHECK(srv.stats().connections_accepted == 1);
  }
  SUBCASE("pipelined requests are answered in order") {
    std::string batch;
    for (int i = 0; i < 20; ++i) {
      batch += i % 2 == 0 ? "GET /healthcheck HTTP/1.1\r\n\r\n" : "GET /metrics/v1?format=json HTTP/1.1\r\n\r\n";
    }
    batch += "GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n";
    c.send(batch);
    for (int i = 0; i < 20; ++i) {
      const auto r = c.read_response();
      REQUIRE(r);
      if (i % 2 == 0) {
        CHECK(r->body == "ok");
      } else {
        CHECK(r->body.rfind("format=json", 0) == 0);
      }
    }
    const auto last = c.read_response();
    REQUIRE(last);
    CHECK(last->status == 404);
    CHECK(c.closed_by_server());
  }
  SUBCASE("HTTP/1.0 closes unless asked to keep alive") {
    c.send("GET /healthcheck HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->header("connection") == "keep-alive");
    c.send("GET /healthcheck HTTP/1.0\r\n\r\n");
    r = c.read_response();
    REQUIRE(r);
    CHECK(r->header("connection") == "close");
    CHECK(c.closed_by_server());
  }
  SUBCASE("a half-closed client still gets its answers") {
    c.send("GET /healthcheck HTTP/1.1\r\n\r\nGET /healthcheck HTTP/1.1\r\n\r\n");
    ::shutdown(c.fd(), SHUT_WR);
    CHECK(c.read_response());
    CHECK(c.read_response());
    CHECK(c.closed_by_server());
  }
}

TEST_CASE("limits give clear answers") {
  store s;
  test_server srv(s, local_options());
  srv.start();
  const auto port = srv.port();
  SUBCASE("request line over 8 KiB: 414") {
    client c(port);
    c.send("GET /metrics/v1?format=" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n");
    const auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 414);
    CHECK(r->header("connection") == "close");
  }
  SUBCASE("headers over 16 KiB: 431") {
    client c(port);
    std::string req = "GET /healthcheck HTTP/1.1\r\n";
    for (int i = 0; i < 40; ++i) req += "X-Pad: " + std::string(500, 'p') + "\r\n";
    c.send(req + "\r\n");
    const auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 431);
  }
  SUBCASE("a small body on GET is discarded, a large one is 413") {
    client c(port);
    c.send("GET /healthcheck HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /healthcheck HTTP/1.1\r\n\r\n");
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    r = c.read_response();
    REQUIRE(r);
    CHECK(r->body == "ok");
    c.send("GET /healthcheck HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n" + std::string(1000, 'x'));
    r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(c.closed_by_server());
  }
  SUBCASE("garbage: 400 and close; chunked bodies: 501") {
    client c(port);
    c.send("HELLO\r\n\r\n");
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 400);
    client d(port);
    d.send("GET /healthcheck HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    r = d.read_response();
    REQUIRE(r);
    CHECK(r->status == 501);
    client e(port);
    e.send("GET /healthcheck HTTP/3.0\r\n\r\n");
    r = e.read_response();
    REQUIRE(r);
    CHECK(r->status == 505);
  }
  // The server survives all of it.
  const auto r = test_http::get(port, "/healthcheck");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("a slow client is dropped after the read timeout, others are served meanwhile") {
  store s;
  auto o = local_options();
  o.read_timeout = std::chrono::milliseconds(300);
  test_server srv(s, o);
  srv.start();
  client slow(srv.port());
  slow.send("GET /metrics/v1?form");
  // Trickling bytes does not extend the deadline.
  for (int i = 0; i < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    slow.send("a");
    const auto r = test_http::get(srv.port(), "/healthcheck");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  CHECK(slow.closed_by_server());
  CHECK(srv.stats().connections_timed_out >= 1);
}

TEST_CASE("a client closing mid-response costs only its own connection") {
  store s;
  for (int i = 0; i < 20000; ++i) s.add_handler({"handler-with-a-long-name-" + std::to_string(i), "github", "org", ""});
  test_server srv(s, local_options());
  srv.start();
  for (int i = 0; i < 5; ++i) {
    client c(srv.port());
    const int small = 1024;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    c.send("GET /metrics/v1?format=prometheus HTTP/1.1\r\n\r\n");
    char first[16];
    CHECK(::recv(c.fd(), first, sizeof first, 0) > 0);
    if (i % 2 == 0) {
      const linger reset{1, 0};  // close with RST
      ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
  }
  const auto r = test_http::get(srv.port(), "/metrics/v1?format=json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body.size() > 20000 * 30);
}

TEST_CASE("500 simultaneous connections are all served") {
  store s;
  s.add_handler({"h", "github", "org", ""});
  test_server srv(s, local_options());
  srv.start();
  std::vector<client> clients;
  clients.reserve(500);
  for (int i = 0; i < 500; ++i) clients.emplace_back(srv.port());
  for (auto& c : clients) c.send("GET /metrics/v1?format=prometheus HTTP/1.1\r\n\r\n");
  int ok = 0;
  for (auto& c : clients) {
    const auto r = c.read_response();
    if (r && r->status == 200) ++ok;
  }
  CHECK(ok == 500);
  CHECK(srv.stats().connections_rejected == 0);
  CHECK(srv.stats().renders == 1);  // one render served every scrape
}

TEST_CASE("connections over the limit are answered 503 when eviction is off; the accept loop goes on") {
  store s;
  auto o = local_options();
  o.max_connections = 3;
  o.evict_oldest_when_full = false;
  test_server srv(s, o);
  srv.start();
  std::vector<client> held;
  for (int i = 0; i < 3; ++i) {
    held.emplace_back(srv.port());
    held.back().send("GET /healthcheck HTTP/1.1\r\n\r\n");
    REQUIRE(held.back().read_response());
  }
  client extra(srv.port());
  const auto r = extra.read_response();
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(srv.stats().connections_rejected == 1);
  held.pop_back();
  // Once a slot frees up, new connections are served again.
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (srv.stats().open_connections < 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto again = test_http::get(srv.port(), "/healthcheck");
  REQUIRE(again);
  CHECK(again->status == 200);
}

TEST_CASE("when full, a newcomer closes the connection idle longest instead of getting 503") {
  // 1,000 idle clients against max_connections 512 must not lock a scraper out for the
  // whole read timeout (tests/abuse/http_abuse.py found this).
  store s;
  auto o = local_options();
  o.max_connections = 3;
  test_server srv(s, o);
  srv.start();
  std::vector<client> idle;
  for (int i = 0; i < 3; ++i) {
    idle.emplace_back(srv.port());
    // One request each, so the server has surely accepted them in this order.
    idle.back().send("GET /healthcheck HTTP/1.1\r\n\r\n");
    REQUIRE(idle.back().read_response());
  }
  // The oldest one goes silent; the others stay busy enough to be newer.
  for (int i = 1; i < 3; ++i) {
    idle[static_cast<std::size_t>(i)].send("GET /healthcheck HTTP/1.1\r\n\r\n");
    REQUIRE(idle[static_cast<std::size_t>(i)].read_response());
  }
  client scraper(srv.port());
  scraper.send("GET /metrics/v1?format=prometheus HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto r = scraper.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(idle[0].closed_by_server());
  CHECK(srv.stats().connections_rejected == 0);
  CHECK(srv.stats().connections_evicted == 1);
  // The newer idle connections were left alone and still answer.
  idle[2].send("GET /healthcheck HTTP/1.1\r\n\r\n");
  const auto still = idle[2].read_response();
  REQUIRE(still);
  CHECK(still->status == 200);
}

TEST_CASE("an incomplete request counts as waiting: a slow client is evicted before an idle newer one") {
  store s;
  auto o = local_options();
  o.max_connections = 2;
  test_server srv(s, o);
  srv.start();
  client slow(srv.port());
  slow.send("GET /metrics/v1 HTTP/1.1\r\nHost: x");  // never finished
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  client idle(srv.port());
  idle.send("GET /healthcheck HTTP/1.1\r\n\r\n");
  REQUIRE(idle.read_response());
  client scraper(srv.port());
  scraper.send("GET /healthcheck HTTP/1.1\r\n\r\n");
  const auto r = scraper.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(slow.closed_by_server());
  CHECK(srv.stats().connections_evicted == 1);
}

TEST_CASE("scrapes during concurrent updates see consistent snapshots") {
  store s;
  auto h = s.add_handler({"h", "github", "org", ""});
  test_server srv(s, local_options());
  srv.start();
  std::atomic<bool> done{false};
  std::thread writer([&] {
    std::uint64_t n = 0;
    while (!done.load()) {
      h.increment_successful_runs();
      h.set_status(++n % 2 == 0 ? plugin_status::idle : plugin_status::in_progress);
    }
  });
  client c(srv.port());
  std::uint64_t last = 0;
  bool monotonic = true;
  bool consistent = true;
  for (int i = 0; i < 200; ++i) {
    c.send("GET /metrics/v1?format=prometheus HTTP/1.1\r\n\r\n");
    const auto r = c.read_response();
    if (!r || r->status != 200) {
      consistent = false;
      break;
    }
    // The global and the handler's own counter move in one critical section.
    unsigned long long global = 0;
    unsigned long long own = 0;
    std::sscanf(r->body.c_str(), "format=prometheus plugins=1 successful=%llu", &global);
    const auto line = r->body.find("\nh ");
    const auto sp = r->body.find(' ', line + 3);
    own = std::stoull(r->body.substr(sp + 1));
    if (global != own) consistent = false;
    if (global < last) monotonic = false;
    last = global;
  }
  done.store(true);
  writer.join();
  CHECK(consistent);
  CHECK(monotonic);
}

TEST_CASE("bodies are cached until the store changes") {
  store s;
  auto h = s.add_handler({"h", "github", "org", ""});
  test_server srv(s, local_options());
  srv.start();
  client c(srv.port());
  const auto scrape = [&] {
    c.send("GET /metrics/v1?format=anklet HTTP/1.1\r\n\r\n");
    return c.read_response().value().body;
  };
  const auto first = scrape();
  CHECK(scrape() == first);
  CHECK(srv.stats().renders == 1);
  h.increment_successful_runs();
  const auto changed = scrape();
  CHECK(changed != first);
  CHECK(changed.find("successful=1") != std::string::npos);
  CHECK(srv.stats().renders == 2);
}

TEST_CASE("host refresh runs on scrapes, at most once per interval") {
  store s;
  std::atomic<int> calls{0};
  auto refresh = [&] {
    ++calls;
    host_metrics hm;
    hm.cpu_count = static_cast<std::uint64_t>(calls.load());
    s.set_host_metrics(hm);
  };
  SUBCASE("interval 1 hour: once") {
    auto o = local_options();
    o.host_refresh_interval = std::chrono::hours(1);
    basic_server<store, test_renderer, decltype(refresh)> srv(s, o, {}, refresh);
    srv.start();
    CHECK(calls == 0);
    for (int i = 0; i < 3; ++i) REQUIRE(test_http::get(srv.port(), "/metrics/v1?format=json"));
    REQUIRE(test_http::get(srv.port(), "/healthcheck"));
    CHECK(calls == 1);
  }
  SUBCASE("interval 0: every scrape") {
    auto o = local_options();
    o.host_refresh_interval = std::chrono::milliseconds(0);
    basic_server<store, test_renderer, decltype(refresh)> srv(s, o, {}, refresh);
    srv.start();
    for (int i = 0; i < 3; ++i) REQUIRE(test_http::get(srv.port(), "/metrics/v1?format=json"));
    CHECK(calls == 3);
    CHECK(srv.stats().host_refreshes == 3);
  }
}

TEST_CASE("basic auth and bearer tokens") {
  store s;
  auto o = local_options();
  o.basic_user = "prom";
  o.basic_password = "s3cret";
  o.bearer_token = "tok-123";
  test_server srv(s, o);
  srv.start();
  const auto port = srv.port();
  auto r = test_http::get(port, "/metrics/v1?format=json");
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(r->headers.count("www-authenticate") == 2);
  CHECK(r->header("www-authenticate").rfind("Basic realm=", 0) == 0);
  r = test_http::get(port, "/metrics/v1?format=json", "Authorization: Basic cHJvbTpzM2NyZXQ=\r\n");
  REQUIRE(r);
  CHECK(r->status == 200);
  r = test_http::get(port, "/metrics/v1?format=json", "Authorization: basic cHJvbTpzM2NyZXR=\r\n");
  REQUIRE(r);
  CHECK(r->status == 401);
  r = test_http::get(port, "/metrics/v1?format=json", "Authorization: Bearer tok-123\r\n");
  REQUIRE(r);
  CHECK(r->status == 200);
  r = test_http::get(port, "/metrics/v1?format=json", "Authorization: Bearer tok-12\r\n");
  REQUIRE(r);
  CHECK(r->status == 401);
  r = test_http::get(port, "/healthcheck");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("binding: port 0, a taken port, searching upward, IPv6") {
  store s;
  test_server first(s, local_options());
  first.start();
  const auto taken = first.port();
  SUBCASE("a taken port is a typed bind error") {
    auto o = local_options();
    o.port = taken;
    test_server second(s, o);
    try {
      second.start();
      FAIL("start() should have thrown");
    } catch (const server_error& e) {
      CHECK(e.kind() == server_errc::bind);
      CHECK(e.sys_errno() == EADDRINUSE);
      CHECK(e.port() == taken);
      CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(taken)) != std::string::npos);
    }
    CHECK_FALSE(second.running());
  }
  SUBCASE("searching upward finds the next free port") {
    auto o = local_options();
    o.port = taken;
    o.port_search = 20;
    test_server second(s, o);
    second.start();
    CHECK(second.port() > taken);
    CHECK(second.port() <= taken + 20);
    const auto r = test_http::get(second.port(), "/healthcheck");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  SUBCASE("an unresolvable address is a typed error") {
    auto o = local_options();
    o.address = "not an address";
    test_server bad(s, o);
    CHECK_THROWS_AS(bad.start(), server_error);
  }
  SUBCASE("IPv6 loopback, where the system has it") {
    auto o = local_options();
    o.address = "::1";
    test_server v6(s, o);
    try {
      v6.start();
    } catch (const server_error& e) {
      MESSAGE("no IPv6 loopback here: " << e.what());
      return;
    }
    CHECK(v6.bound_address() == "::1");
    client c(v6.port(), "::1", AF_INET6);
    c.send("GET /healthcheck HTTP/1.1\r\n\r\n");
    const auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->body == "ok");
  }
}

TEST_CASE("stop() ends idle keep-alive connections and can be followed by start()") {
  store s;
  test_server srv(s, local_options());
  srv.start();
  client c(srv.port());
  c.send("GET /healthcheck HTTP/1.1\r\n\r\n");
  REQUIRE(c.read_response());
  srv.stop();
  CHECK_FALSE(srv.running());
  CHECK(c.closed_by_server());
  srv.stop();  // idempotent
  srv.start();
  CHECK(test_http::get(srv.port(), "/healthcheck"));
  CHECK_THROWS_AS(srv.start(), std::logic_error);
}

TEST_CASE("a published_snapshot source serves what was published") {
  published_snapshot slot;
  basic_server<published_snapshot, test_renderer> srv(slot, local_options());
  srv.start();
  auto r = test_http::get(srv.port(), "/metrics/v1?format=json");
  REQUIRE(r);
  CHECK(r->body.rfind("format=json plugins=0", 0) == 0);
  metrics_snapshot snap;
  snap.plugins.resize(2);
  srv.publish(snap);
  r = test_http::get(srv.port(), "/metrics/v1?format=json");
  REQUIRE(r);
  CHECK(r->body.rfind("format=json plugins=2", 0) == 0);
  // A store-backed server accepts publish() and keeps serving the store.
  store s;
  test_server pull(s, local_options());
  pull.publish(snap);
}

TEST_CASE("servers sharing one listener serve the same port") {
  store s;
  auto o = local_options();
  o.accept_batch = 1;
  test_server primary(s, o);
  test_server second(s, o);
  CHECK_THROWS_AS(second.start_sharing(primary), std::logic_error);  // primary not running
  primary.start();
  second.start_sharing(primary);
  CHECK(second.port() == primary.port());
  CHECK_THROWS_AS(second.start_sharing(primary), std::logic_error);  // already running
  std::vector<client> clients;
  for (int i = 0; i < 40; ++i) clients.emplace_back(primary.port());
  for (auto& c : clients) c.send("GET /healthcheck HTTP/1.1\r\n\r\n");
  for (auto& c : clients) {
    const auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->body == "ok");
  }
  CHECK(primary.stats().connections_accepted + second.stats().connections_accepted == 40);
  // The second keeps serving on its own copy of the socket once the first stopped.
  primary.stop();
  const auto r = test_http::get(second.port(), "/healthcheck");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("pipelined requests behind a large response, then a half-close: all answered, then closed") {
  store s;
  for (int i = 0; i < 20000; ++i) s.add_handler({"handler-" + std::to_string(i), "github", "org", ""});
  auto o = local_options();
  o.read_timeout = std::chrono::seconds(60);  // closing must come from the EOF, not a timeout
  test_server srv(s, o);
  srv.start();
  client c(srv.port());
  std::string batch;
  for (int i = 0; i < 4; ++i) batch += "GET /metrics/v1?format=json HTTP/1.1\r\n\r\nGET /healthcheck HTTP/1.1\r\n\r\n";
  c.send(batch);
  ::shutdown(c.fd(), SHUT_WR);
  for (int i = 0; i < 4; ++i) {
    const auto big = c.read_response();
    REQUIRE(big);
    CHECK(big->body.size() > 20000 * 15);  // over the output high-water mark
    const auto small = c.read_response();
    REQUIRE(small);
    CHECK(small->body == "ok");
  }
  CHECK(c.closed_by_server());
}

#if defined(__linux__)
namespace {

// A body of 8 MiB, rendered once and shared by every connection (as a real scrape's is).
struct big_renderer {
  void render(metrics_format, const metrics_snapshot&, fmt::memory_buffer& out) const {
    const std::string chunk(4096, 'x');
    for (int i = 0; i < 2048; ++i) out.append(chunk.data(), chunk.data() + chunk.size());
  }
  [[nodiscard]] std::string_view content_type(metrics_format) const noexcept { return "text/plain"; }
};

// Bytes each established socket bound to 127.0.0.1:port has queued to send
// (/proc/net/tcp's tx_queue): what the server's kernel holds for its clients.
std::vector<std::size_t> server_send_queues(std::uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::size_t> out;
  char local[64];
  char state[8];
  char queues[64];
  while (std::getline(in, line)) {
    if (std::sscanf(line.c_str(), "%*s %63s %*s %7s %63s", local, state, queues) != 3) continue;
    const std::string l(local);
    if (std::string(state) != "01" || std::stoul(l.substr(l.find(':') + 1), nullptr, 16) != port) continue;
    const std::string q(queues);
    out.push_back(std::stoul(q.substr(0, q.find(':')), nullptr, 16));
  }
  return out;
}

}  // namespace

TEST_CASE("accept out of descriptors (EMFILE): the newcomer is answered 503 at once, then serving goes on") {
  store s;
  auto o = local_options();
  o.reserved_descriptors = 0;
  // The client's socket exists before the limit drops: connect() needs no new descriptor.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  std::vector<int> fillers;
  const auto restore = [&] {
    for (const int f : fillers) ::close(f);
    fillers.clear();
    ::setrlimit(RLIMIT_NOFILE, &saved);
  };
  test_server srv(s, o);
  try {
    rlimit low = saved;
    low.rlim_cur = static_cast<rlim_t>(fd + 32);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    srv.start();  // its descriptors (and its spare) below the low limit
    // Every other descriptor below the limit taken: the server's accept() gets EMFILE.
    for (int f = 0; (f = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fillers.push_back(f);
    REQUIRE(errno == EMFILE);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(srv.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{3, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    std::string answer;
    char buf[512];
    for (ssize_t n = 0; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    restore();
    CHECK(answer.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
    CHECK(answer.find("too many connections") != std::string::npos);
    CHECK(srv.stats().connections_rejected >= 1);
  } catch (...) {
    restore();
    throw;
  }
  const auto r = test_http::get(srv.port(), "/healthcheck");  // descriptors back: served again
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("clients that ask for a big body and never read: bounded kernel buffers, closed after the write timeout") {
  store s;
  auto o = local_options();
  o.write_timeout = std::chrono::milliseconds(1500);
  basic_server<store, big_renderer> srv(s, o);
  srv.start();
  const auto port = srv.port();

  constexpr std::size_t stalled = 20;
  std::vector<client> readers_that_never_read;
  for (std::size_t i = 0; i < stalled; ++i) {
    readers_that_never_read.emplace_back(port);
    readers_that_never_read.back().send("GET /metrics/v1?format=prometheus HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  // A normal scraper meanwhile (a liveness bound only: generous for a shared machine).
  for (int i = 0; i < 20; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = test_http::get(port, "/healthcheck");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
  }

  const auto queued = server_send_queues(port);
  REQUIRE(queued.size() >= stalled);
  std::size_t total = 0;
  for (const auto q : queued) {
    total += q;
    // The kernel doubles SO_SNDBUF for its bookkeeping; a queue may hold that much.
    CHECK(q <= 2 * server_options::default_send_buffer_bytes + 65536);
  }
  MESSAGE("send queues of " << queued.size() << " stalled connections: " << total << " bytes");

  // They stopped reading: closed once the write timeout passes.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (srv.stats().open_connections > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(srv.stats().open_connections == 0);
  CHECK(srv.stats().connections_timed_out >= stalled);
}
#endif
