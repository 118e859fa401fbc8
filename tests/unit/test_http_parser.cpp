#include "anklet/metrics/http/request_parser.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace anklet::metrics::http;

namespace {

// Feeds `data` in chunks of `step` bytes until the parser stops; returns bytes consumed.
std::size_t feed_in_steps(request_parser& p, std::string_view data, std::size_t step) {
  std::size_t used = 0;
  while (used < data.size() && p.state() == parse_state::need_more) {
    used += p.feed(data.substr(used, step));
  }
  return used;
}

}  // namespace

TEST_CASE("a simple GET parses in one piece and byte by byte") {
  const std::string req = "GET /metrics/v1?format=json HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n";
  for (const std::size_t step : {req.size(), std::size_t{1}, std::size_t{7}}) {
    request_parser p;
    CHECK(feed_in_steps(p, req, step) == req.size());
    REQUIRE(p.state() == parse_state::complete);
    const auto& r = p.get();
    CHECK(r.method == "GET");
    CHECK(r.target == "/metrics/v1?format=json");
    CHECK(r.path == "/metrics/v1");
    CHECK(r.query == "format=json");
    CHECK(r.version_minor == 1);
    CHECK(r.keep_alive);
    CHECK(r.header("HOST") == "x");
    CHECK(r.header("user-agent") == "t");
    CHECK(r.headers.size() == 2);
  }
}

TEST_CASE("pipelined requests: the parser stops at the end of the first") {
  const std::string two = "GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\n";
  request_parser p;
  const auto used = p.feed(two);
  CHECK(used == 19);
  REQUIRE(p.state() == parse_state::complete);
  CHECK(p.get().path == "/a");
  p.reset();
  CHECK(p.feed(std::string_view(two).substr(used)) == two.size() - used);
  REQUIRE(p.state() == parse_state::complete);
  CHECK(p.get().method == "HEAD");
  CHECK(p.get().path == "/b");
}

TEST_CASE("bare LF line ends and leading blank lines are accepted") {
  request_parser p;
  p.feed("\r\n\nGET / HTTP/1.0\nConnection: keep-alive\n\n");
  REQUIRE(p.state() == parse_state::complete);
  CHECK(p.get().version_minor == 0);
  CHECK(p.get().keep_alive);
}

TEST_CASE("keep-alive follows the version and the Connection header") {
  request_parser p;
  p.feed("GET / HTTP/1.0\r\n\r\n");
  CHECK_FALSE(p.get().keep_alive);
  p.reset();
  p.feed("GET / HTTP/1.1\r\nConnection: foo, Close\r\n\r\n");
  CHECK_FALSE(p.get().keep_alive);
  p.reset();
  p.feed("GET / HTTP/1.1\r\n\r\n");
  CHECK(p.get().keep_alive);
}

TEST_CASE("absolute-form targets are reduced to path and query") {
  request_parser p;
  p.feed("GET http://example.org:8080/metrics/v1?format=anklet#frag HTTP/1.1\r\n\r\n");
  REQUIRE(p.state() == parse_state::complete);
  CHECK(p.get().path == "/metrics/v1");
  CHECK(p.get().query == "format=anklet");
}

TEST_CASE("request line over the limit gives 414, without buffering it all") {
  request_limits limits;
  limits.max_request_line = 64;
  request_parser p(limits);
  const std::string line = "GET /" + std::string(100, 'a') + " HTTP/1.1\r\n\r\n";
  feed_in_steps(p, line, 10);
  REQUIRE(p.state() == parse_state::failed);
  CHECK(p.error_status() == 414);
  // A request line exactly at the limit (line end included) passes.
  request_parser ok(limits);
  const std::string fits = "GET /" + std::string(64 - 16, 'a') + " HTTP/1.1\r\n";
  REQUIRE(fits.size() == 64);
  ok.feed(fits + "\r\n");
  CHECK(ok.state() == parse_state::complete);
}

TEST_CASE("default limits: 8 KiB line gives 414, 16 KiB of headers gives 431") {
  {
    request_parser p;
    p.feed("GET /" + std::string(9 * 1024, 'a') + " HTTP/1.1\r\n\r\n");
    CHECK(p.error_status() == 414);
  }
  {
    request_parser p;
    std::string req = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 20; ++i) req += "X-Pad-" + std::to_string(i) + ": " + std::string(1000, 'b') + "\r\n";
    p.feed(req + "\r\n");
    CHECK(p.error_status() == 431);
  }
}

TEST_CASE("too many header fields give 431") {
  request_limits limits;
  limits.max_header_count = 3;
  std::string req = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 3; ++i) req += "A: b\r\n";
  {
    request_parser p(limits);
    p.feed(req + "\r\n");
    CHECK(p.state() == parse_state::complete);
  }
  {
    request_parser p(limits);
    p.feed(req + "A: b\r\n\r\n");
    CHECK(p.state() == parse_state::failed);
    CHECK(p.error_status() == 431);
  }
}

TEST_CASE("a body is consumed and dropped up to the limit, 413 beyond") {
  request_limits limits;
  limits.max_body_bytes = 10;
  request_parser p(limits);
  const std::string req = "GET / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789GET /next HTTP/1.1\r\n\r\n";
  const auto used = feed_in_steps(p, req, 3);
  REQUIRE(p.state() == parse_state::complete);
  CHECK(req.substr(used).rfind("GET /next", 0) == 0);
  request_parser big(limits);
  big.feed("GET / HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
  CHECK(big.error_status() == 413);
}

TEST_CASE("malformed requests fail with the right status") {
  const auto status_of = [](std::string_view req) {
    request_parser p;
    p.feed(req);
    return p.state() == parse_state::failed ? p.error_status() : 0;
  };
  CHECK(status_of("GET /\r\n\r\n") == 400);
  CHECK(status_of("GET  / HTTP/1.1\r\n\r\n") == 400);
  CHECK(status_of("G(T / HTTP/1.1\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/2.0\r\n\r\n") == 505);
  CHECK(status_of("GET / HTTX/1.1\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nNo colon here\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") == 501);
  CHECK(status_of("GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n") == 0);
}

TEST_CASE("errors are sticky until reset") {
  request_parser p;
  p.feed("BAD\r\n\r\n");
  REQUIRE(p.state() == parse_state::failed);
  CHECK(p.feed("GET / HTTP/1.1\r\n\r\n") == 0);
  CHECK(p.state() == parse_state::failed);
  p.reset();
  p.feed("GET / HTTP/1.1\r\n\r\n");
  CHECK(p.state() == parse_state::complete);
}

TEST_CASE("query parameters: percent-decoding, several, any order, first wins") {
  std::vector<std::pair<std::string, std::string>> seen;
  const auto collect = [&](std::string_view n, std::string_view v) {
    seen.emplace_back(n, v);
    return true;
  };
  CHECK(for_each_query_param("a=1&fo%72mat=js%6Fn&&b=x+y%20z&flag", collect));
  REQUIRE(seen.size() == 4);
  CHECK(seen[1] == std::pair<std::string, std::string>{"format", "json"});
  CHECK(seen[2].second == "x y z");
  CHECK(seen[3] == std::pair<std::string, std::string>{"flag", ""});
  CHECK_FALSE(for_each_query_param("format=%zz", collect));
  CHECK_FALSE(for_each_query_param("format=%4", collect));
  // As Go's url.ParseQuery: a malformed pair is skipped, the others still count.
  CHECK(query_value("x=%zz&format=prometheus", "format") == "prometheus");
  CHECK(query_value("format=%zz&format=json", "format") == "json");
  CHECK(query_value("a;b=1&format=anklet", "format") == "anklet");
  CHECK(query_value("fo%72mat=js%6Fn", "format") == "json");
  CHECK_FALSE(query_value("formats=json", "format").has_value());
  std::string out;
  CHECK(percent_decode("%2Fa+b", out, false));
  CHECK(out == "/a+b");
}
