// gzip on zlib (http/gzip.hpp): the compressor's members inflate to what went in; the
// exporter's routes and the aggregator send them on the wire to clients that accept gzip
// (Content-Encoding, Vary, HEAD's length), compress each body once per generation or read,
// and answer everyone else uncompressed. Built only with zlib (Meson option gzip).
#include "anklet/metrics/http/gzip.hpp"

#include <zlib.h>

#include <doctest/doctest.h>

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "anklet/metrics/fleet/aggregator.hpp"
#include "anklet/metrics/fleet/routes.hpp"
#include "anklet/metrics/http/metrics_routes.hpp"
#include "anklet/metrics/store.hpp"
#include "anklet/metrics/testing.hpp"
#include "eventually.hpp"
#include "http_test_client.hpp"
#include "redis_test_server.hpp"

using namespace anklet::metrics;
using namespace anklet::metrics::http;
using namespace std::chrono_literals;
using anklet_test::eventually;

namespace {

// The content of `gz` when it is exactly one gzip member (what an HTTP client that stops at
// the first member reads), nothing otherwise.
std::optional<std::string> gunzip(std::string_view gz) {
  z_stream zs{};
  if (inflateInit2(&zs, MAX_WBITS + 16) != Z_OK) return std::nullopt;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  int rc = Z_OK;
  char buf[65536];
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  const bool whole = rc == Z_STREAM_END && zs.avail_in == 0;
  inflateEnd(&zs);
  if (!whole) return std::nullopt;
  return out;
}

std::string sample_text(std::size_t lines) {
  std::string s;
  for (std::size_t i = 0; i < lines; ++i) {
    s += "plugin_status{name=\"handler-" + std::to_string(i) + "\",status=\"idle\"} " + std::to_string(i % 3) + "\n";
  }
  return s;
}

std::string compressed(const gzip_compressor& c, std::string_view plain, bool open, std::uint32_t* crc = nullptr) {
  fmt::memory_buffer out;
  const auto k = c.compress(plain, out, open);
  if (crc != nullptr) *crc = k;
  return {out.data(), out.size()};
}

server_options local_options(std::size_t min_bytes = gzip_options::default_min_bytes) {
  server_options o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.gzip = gzip_compression({.level = gzip_options::default_level, .min_bytes = min_bytes});
  o.scrapes = nullptr;  // bodies compared across requests must not count those requests
  return o;
}

void add_handlers(store& s, int n) {
  for (int i = 0; i < n; ++i) s.add_handler({"handler-" + std::to_string(i), "github", "org", "repo"});
}

constexpr std::string_view prom = "/metrics/v1?format=prometheus";
// format=prometheus may answer OpenMetrics (negotiated from Accept), so it varies with both.
constexpr std::string_view prom_vary = "Accept, Accept-Encoding";

}  // namespace

TEST_CASE("the zlib compressor: one member that inflates to its input, at every level, with its CRC-32") {
  for (const int level : {1, 6, 9}) {
    const zlib_gzip_compressor c({.level = level, .min_bytes = 0});
    for (const std::size_t lines : std::initializer_list<std::size_t>{0, 1, 100, 40000}) {
      const auto plain = sample_text(lines);
      std::uint32_t crc = 0;
      const auto gz = compressed(c, plain, false, &crc);
      CHECK(gunzip(gz) == plain);
      CHECK(crc == http::detail::crc32(0, plain));
      if (lines >= 100) CHECK(gz.size() * 5 < plain.size());
    }
  }
  CHECK_THROWS_AS(zlib_gzip_compressor({.level = 0}), std::invalid_argument);
  CHECK_THROWS_AS(zlib_gzip_compressor({.level = 10}), std::invalid_argument);
  CHECK(gzip_compression()->min_bytes() == gzip_options::default_min_bytes);
}

TEST_CASE("an open member closed with a tail is one ordinary gzip member") {
  const zlib_gzip_compressor c;
  const auto plain = sample_text(5000);
  std::uint32_t crc = 0;
  const auto open = compressed(c, plain, true, &crc);
  CHECK_FALSE(gunzip(open));  // not finished on its own
  for (const std::string& tail : {std::string(), std::string("anklet_metrics_aggregator_fleet_age_seconds 0.25\n"),
                                  std::string(70000, 'z') + "\n"}) {
    auto gz = open;
    close_gzip_member(crc, plain.size(), tail, gz);
    CHECK(gunzip(gz) == plain + tail);
  }
}

TEST_CASE("exporter: gzip on the wire to clients that accept it, the same bytes once inflated") {
  store s;
  add_handlers(s, 50);
  server<store> srv(s, local_options());
  srv.start();
  const auto plain = test_http::get(srv.port(), prom);
  REQUIRE(plain);
  CHECK(plain->header("content-encoding").empty());
  CHECK(plain->header("vary") == prom_vary);
  for (const char* accept : {"gzip", "gzip, deflate, br", "deflate;q=1, gzip;q=0.5", "*", "x-gzip;q=1.0"}) {
    INFO(std::string(accept));
    const auto gz = test_http::get(srv.port(), prom, std::string("Accept-Encoding: ") + accept + "\r\n");
    REQUIRE(gz);
    CHECK(gz->status == 200);
    CHECK(gz->header("content-encoding") == "gzip");
    CHECK(gz->header("vary") == prom_vary);
    CHECK(gz->header("content-type") == plain->header("content-type"));
    CHECK(gz->body.size() * 5 < plain->body.size());
    CHECK(gunzip(gz->body) == plain->body);
  }
  for (const auto f : all_formats) {
    const auto target = "/metrics/v1?format=" + std::string(to_string(f));
    const auto gz = test_http::get(srv.port(), target, "Accept-Encoding: gzip\r\n");
    const auto id = test_http::get(srv.port(), target);
    REQUIRE(gz);
    REQUIRE(id);
    CHECK(gunzip(gz->body) == id->body);
  }
}

TEST_CASE("exporter: clients that refuse gzip or prefer identity get the plain body, with Vary") {
  store s;
  add_handlers(s, 50);
  server<store> srv(s, local_options());
  srv.start();
  for (const char* header : {"", "Accept-Encoding: gzip;q=0\r\n", "Accept-Encoding: identity\r\n",
                             "Accept-Encoding: *;q=0\r\n", "Accept-Encoding: gzip;q=0.5, identity;q=1\r\n",
                             "Accept-Encoding: br, deflate\r\n", "Accept-Encoding: gzip;q=2\r\n"}) {
    INFO(std::string(header));
    const auto r = test_http::get(srv.port(), prom, header);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->header("content-encoding").empty());
    CHECK(r->header("vary") == prom_vary);
    CHECK(r->body.rfind("# HELP", 0) == 0);
  }
  CHECK(srv.stats().compressions == 0);
}

TEST_CASE("exporter: HEAD carries the Content-Length of the coding it would send") {
  store s;
  add_handlers(s, 50);
  server<store> srv(s, local_options());
  srv.start();
  const auto gz = test_http::get(srv.port(), prom, "Accept-Encoding: gzip\r\n");
  const auto id = test_http::get(srv.port(), prom);
  REQUIRE(gz);
  REQUIRE(id);
  for (const bool gzip : {true, false}) {
    test_http::client c(srv.port());
    c.send(std::string("HEAD ") + std::string(prom) + " HTTP/1.1\r\n" + (gzip ? "Accept-Encoding: gzip\r\n" : "") +
           "\r\nGET /healthcheck HTTP/1.1\r\nConnection: close\r\n\r\n");
    const auto h = c.read_response(true);
    REQUIRE(h);
    CHECK(h->header("content-length") == (gzip ? gz : id)->header("content-length"));
    CHECK(h->header("content-encoding") == (gzip ? "gzip" : ""));
    CHECK(h->header("vary") == prom_vary);
    const auto next = c.read_response();  // no body bytes came between
    REQUIRE(next);
    CHECK(next->body == "ok");
  }
}

TEST_CASE("exporter: one compression per rendered body, whatever the number of gzip scrapes") {
  store s;
  add_handlers(s, 50);
  auto h = s.add_handler({"moving", "github", "org", ""});
  server<store> srv(s, local_options());
  srv.start();
  test_http::client c(srv.port());
  const auto scrape = [&](bool gzip) {
    c.send(std::string("GET ") + std::string(prom) + " HTTP/1.1\r\n" + (gzip ? "Accept-Encoding: gzip\r\n" : "") + "\r\n");
    return c.read_response().value();
  };
  const auto first = scrape(true);
  for (int i = 0; i < 20; ++i) CHECK(scrape(i % 2 == 0).status == 200);
  CHECK(srv.stats().renders == 1);
  CHECK(srv.stats().compressions == 1);
  CHECK(scrape(true).body == first.body);  // the cached member itself
  h.increment_successful_runs();
  const auto changed = scrape(true);
  CHECK(changed.body != first.body);
  CHECK(gunzip(changed.body).value().find("plugin_total_successful_runs_since_start{name=\"moving\"") != std::string::npos);
  CHECK(scrape(true).body == changed.body);
  CHECK(srv.stats().renders == 2);
  CHECK(srv.stats().compressions == 2);
  SUBCASE("pipelined scrapes of both codings on one connection, answered in order") {
    std::string batch;
    for (int i = 0; i < 10; ++i) {
      batch += std::string("GET ") + std::string(prom) + " HTTP/1.1\r\n" + (i % 2 == 0 ? "Accept-Encoding: gzip\r\n" : "") + "\r\n";
    }
    c.send(batch);
    const auto plain = gunzip(changed.body).value();
    for (int i = 0; i < 10; ++i) {
      const auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->body == (i % 2 == 0 ? changed.body : plain));
    }
    CHECK(srv.stats().compressions == 2);
  }
}

TEST_CASE("exporter: bodies under the threshold, and servers without a compressor, send plain bodies") {
  store s;
  add_handlers(s, 50);
  SUBCASE("under min_bytes: plain, still with Vary") {
    server<store> srv(s, local_options(1 << 24));
    srv.start();
    const auto r = test_http::get(srv.port(), prom, "Accept-Encoding: gzip\r\n");
    REQUIRE(r);
    CHECK(r->header("content-encoding").empty());
    CHECK(r->header("vary") == prom_vary);
    CHECK(srv.stats().compressions == 0);
  }
  SUBCASE("no compressor: no Vary on Accept-Encoding") {
    auto o = local_options();
    o.gzip.reset();
    server<store> srv(s, o);
    srv.start();
    const auto r = test_http::get(srv.port(), prom, "Accept-Encoding: gzip\r\n");
    REQUIRE(r);
    CHECK(r->header("content-encoding").empty());
    CHECK(r->header("vary") == "Accept");
  }
  SUBCASE("short answers that are not metrics (healthcheck, errors) are never compressed") {
    server<store> srv(s, local_options(0));
    srv.start();
    for (const char* target : {"/healthcheck", "/metrics", "/metrics/v1", "/nope"}) {
      const auto r = test_http::get(srv.port(), target, "Accept-Encoding: gzip\r\n");
      REQUIRE(r);
      CHECK(r->header("content-encoding").empty());
    }
  }
}

namespace {

std::string host_payload(int i) {
  return R"({"last_update":"2025-01-08T09:30:15Z","host_cpu_count":8,"plugins":[{"Name":"runner-)" + std::to_string(i) +
         R"(","PluginName":"github","OwnerName":"org","Status":"idle","TotalSuccessfulRunsSinceStart":)" +
         std::to_string(i) + "}]}";
}

// A client of `srv`, which now holds a fleet of 20 hosts (runner-0 to runner-19).
redis::client fleet_of_20(const anklet_test::redis_server& srv) {
  auto c = redis::client::from_url(srv.url()).value();
  for (int i = 0; i < 20; ++i) REQUIRE(c.set("anklet/metrics/org/runner-" + std::to_string(i), host_payload(i)));
  return c;
}

aggregator_options fleet_options(const anklet_test::redis_server& srv) {
  aggregator_options o;
  o.client.target = redis::parse_url(srv.url()).value();
  o.gzip = gzip_compression({.level = 1, .min_bytes = 64});
  return o;
}

}  // namespace

TEST_CASE("aggregator: gzip on the wire from the last read; the Prometheus age closes the cached member per request") {
  anklet_test::redis_server redis_srv;
  fleet_of_20(redis_srv);
  auto o = fleet_options(redis_srv);
  o.refresh = 60s;  // one read serves the whole test
  aggregator agg(o);
  agg.start();
  REQUIRE(eventually([&] { return agg.reads_completed() >= 1; }));
  server_options listen;
  listen.address = "127.0.0.1";
  listen.port = 0;
  aggregator_server srv(agg, listen);
  srv.start();

  for (const char* target : {"/metrics/v1?format=json", "/metrics/v2?format=json"}) {
    const auto id = test_http::get(srv.port(), target);
    const auto gz = test_http::get(srv.port(), target, "Accept-Encoding: gzip\r\n");
    REQUIRE(id);
    REQUIRE(gz);
    CHECK(id->header("vary") == "Accept-Encoding");
    CHECK(id->header("content-encoding").empty());
    CHECK(gz->header("content-encoding") == "gzip");
    CHECK(gz->header("vary") == "Accept-Encoding");
    CHECK_FALSE(gz->header("age").empty());
    CHECK(gunzip(gz->body) == id->body);
  }
  for (const char* target : {"/metrics/v1?format=prometheus", "/metrics/v2?format=prometheus"}) {
    const auto gz = test_http::get(srv.port(), target, "Accept-Encoding: gzip\r\n");
    REQUIRE(gz);
    CHECK(gz->header("content-encoding") == "gzip");
    const auto text = gunzip(gz->body);
    REQUIRE(text);
    const auto e = testing::parse_exposition(*text);
    CHECK(testing::find_sample(e, "anklet_metrics_aggregator_hosts", {}));
    REQUIRE(testing::find_sample(e, "anklet_metrics_aggregator_fleet_age_seconds", {}));
    // The same text as the plain answer but for the age line.
    const auto id = test_http::get(srv.port(), target);
    REQUIRE(id);
    CHECK(text->substr(0, text->find("# HELP anklet_metrics_aggregator_fleet_age_seconds")) ==
          id->body.substr(0, id->body.find("# HELP anklet_metrics_aggregator_fleet_age_seconds")));
  }
  const auto after_first = srv.stats().compressions;
  // Each body once, on its first gzip request: JSON v1, JSON v2, and the Prometheus text,
  // which is one body for both paths.
  CHECK(after_first == 3);
  for (int i = 0; i < 10; ++i) {
    const auto gz = test_http::get(srv.port(), "/metrics/v2?format=prometheus", "Accept-Encoding: gzip\r\n");
    REQUIRE(gz);
    CHECK(gunzip(gz->body));
  }
  CHECK(srv.stats().compressions == after_first);

  test_http::client head(srv.port());
  head.send("HEAD /metrics/v2?format=json HTTP/1.1\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n");
  const auto h = head.read_response(true);
  const auto gz = test_http::get(srv.port(), "/metrics/v2?format=json", "Accept-Encoding: gzip\r\n");
  REQUIRE(h);
  REQUIRE(gz);
  CHECK(h->header("content-length") == gz->header("content-length"));
  CHECK(h->header("content-encoding") == "gzip");
  const auto refused = test_http::get(srv.port(), "/metrics/v2?format=json", "Accept-Encoding: gzip;q=0\r\n");
  REQUIRE(refused);
  CHECK(refused->header("content-encoding").empty());
  CHECK(refused->body.front() == '[');
  srv.stop();
  agg.stop();
}

TEST_CASE("aggregator: the background reader compresses what clients asked for, and reuses it while the fleet stands still") {
  anklet_test::redis_server redis_srv;
  auto c = fleet_of_20(redis_srv);
  auto o = fleet_options(redis_srv);  // refresh 0: a read every 0.1 s
  aggregator agg(o);
  agg.start();
  REQUIRE(eventually([&] { return agg.reads_completed() >= 1; }));
  CHECK(agg.compressions() == 0);  // nobody asked for gzip yet
  aggregator_response r;
  agg.answer("GET", "/metrics/v2", "format=json", "", content_coding::gzip, r);
  const auto body = r.full_body();
  CHECK(r.headers.find("Content-Encoding: gzip\r\n") != std::string::npos);
  const auto reads = agg.reads_completed();
  REQUIRE(eventually([&] { return agg.reads_completed() >= reads + 5; }));
  CHECK(agg.compressions() == 1);  // the reads since found the same body
  aggregator_response again;
  agg.answer("GET", "/metrics/v2", "format=json", "", content_coding::gzip, again);
  CHECK(again.full_body() == body);
  REQUIRE(c.set("anklet/metrics/org/runner-new", host_payload(99)));
  REQUIRE(eventually([&] {
    aggregator_response n;
    agg.answer("GET", "/metrics/v2", "format=json", "", content_coding::gzip, n);
    return gunzip(n.full_body()).value_or("").find("runner-99") != std::string::npos;
  }));
  CHECK(agg.compressions() == 2);  // compressed by the reader, before any request saw it
  agg.stop();
}

TEST_CASE("aggregator: the background reader puts together only the answers clients asked for") {
  anklet_test::redis_server redis_srv;
  fleet_of_20(redis_srv);
  auto o = fleet_options(redis_srv);  // refresh 0: a read every 0.1 s
  aggregator agg(o);
  agg.start();
  REQUIRE(eventually([&] { return agg.reads_completed() >= 2; }));
  CHECK(agg.renders() == 0);  // nobody asked for any answer yet
  const auto reads_before = agg.reads_completed();
  const auto first = agg.respond("GET", "/metrics/v1", "format=prometheus");
  CHECK(agg.renders() >= 1);  // by the request, from the read it answered from
  REQUIRE(eventually([&] { return agg.reads_completed() >= reads_before + 6; }));
  const auto again = agg.respond("GET", "/metrics/v1", "format=prometheus");
  agg.stop();
  // Every read after the request put the Prometheus answer together once (the one or two
  // under way when it came may not have), the request once, and no other kind of answer.
  const auto reads_after = agg.reads_completed() - reads_before;
  CHECK(agg.renders() + 1 >= reads_after);
  CHECK(agg.renders() <= reads_after + 1);
  // The hosts' lines; the aggregator's own families differ from read to read.
  const auto hosts_lines = [](const std::string& body) { return body.substr(0, body.find("# HELP anklet_metrics_aggregator_")); };
  CHECK(hosts_lines(again.body) == hosts_lines(first.body));
  CHECK(first.body.find("runner-19") != std::string::npos);
}

TEST_CASE("aggregator without start(): requests read Redis and answer in gzip from the same read's cache") {
  anklet_test::redis_server redis_srv;
  fleet_of_20(redis_srv);
  auto o = fleet_options(redis_srv);
  o.refresh = 60s;
  aggregator agg(o);
  aggregator_response gz;
  agg.answer("GET", "/metrics/v1", "format=prometheus", "", content_coding::gzip, gz);
  const auto plain = agg.respond("GET", "/metrics/v1", "format=prometheus");
  CHECK(gz.headers.find("Content-Encoding: gzip\r\n") != std::string::npos);
  CHECK(gunzip(gz.full_body()) == plain.body);
  aggregator_response again;
  agg.answer("GET", "/metrics/v1", "format=prometheus", "", content_coding::gzip, again);
  CHECK(again.shared == gz.shared);
  CHECK(agg.compressions() == 1);
}
