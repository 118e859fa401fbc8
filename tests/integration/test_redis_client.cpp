// The Redis client against a real redis-server started by this test binary.
#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "anklet/metrics/redis/client.hpp"
#include "redis_test_server.hpp"

using namespace anklet::metrics::redis;
using anklet_test::redis_server;
using namespace std::chrono_literals;

namespace {

client make_client(const std::string& url, client_options base = {}) {
  auto c = client::from_url(url, base);
  REQUIRE(c);
  return std::move(c).value();
}

}  // namespace

TEST_CASE("PING, SET EX, TTL, GET, MGET, DEL, EXISTS") {
  redis_server srv;
  auto c = make_client(srv.url());
  REQUIRE(c.ping());
  CHECK(c.connected());
  client from_target(parse_url(srv.url()).value());
  CHECK(from_target.ping());

  REQUIRE(c.set("anklet/metrics/o/h1", "{\"a\":1}", 604800s));
  auto ttl = c.ttl("anklet/metrics/o/h1");
  REQUIRE(ttl);
  CHECK(*ttl <= 604800);
  CHECK(*ttl > 604800 - 60);
  REQUIRE(c.set("plain", "v"));
  CHECK(c.ttl("plain").value() == -1);
  CHECK(c.ttl("missing").value() == -2);

  auto v = c.get("anklet/metrics/o/h1");
  REQUIRE(v);
  REQUIRE(v->has_value());
  CHECK(**v == "{\"a\":1}");
  CHECK_FALSE(c.get("missing").value().has_value());

  std::vector<std::string> keys{"anklet/metrics/o/h1", "missing", "plain"};
  auto m = c.mget(keys);
  REQUIRE(m);
  REQUIRE(m->size() == 3);
  CHECK((*m)[0] == std::optional<std::string>("{\"a\":1}"));
  CHECK_FALSE((*m)[1].has_value());
  CHECK((*m)[2] == std::optional<std::string>("v"));
  CHECK(c.mget(std::vector<std::string>{}).value().empty());

  CHECK(c.exists("plain", "missing", "plain").value() == 2);
  CHECK(c.del("plain", "missing").value() == 1);
  CHECK(c.exists("plain").value() == 0);

  // A server error reply is typed, carries the server's text and keeps the connection.
  auto bad = c.command("INCR", "anklet/metrics/o/h1");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == errc::server);
  CHECK(bad.error().message.starts_with("ERR value is not an integer"));
  CHECK(c.connected());
  auto wrong = c.command("NOSUCHCOMMAND");
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message.starts_with("ERR unknown command"));
  CHECK(c.ping());
}

TEST_CASE("SCAN with MATCH and COUNT over many keys") {
  redis_server srv;
  auto c = make_client(srv.url());
  pipeline p;
  std::set<std::string> expected;
  for (int i = 0; i < 2500; ++i) {
    std::string k = "anklet/metrics/owner/host-" + std::to_string(i);
    expected.insert(k);
    p.add("SET", k, i);
  }
  for (int i = 0; i < 300; ++i) p.add("SET", "other/" + std::to_string(i), i);
  auto r = c.execute(p);
  REQUIRE(r);
  REQUIRE(r->size() == 2800);

  auto page = c.scan(0, "anklet/metrics/*", 10);
  REQUIRE(page);
  CHECK(page->cursor != 0);  // 2800 keys cannot be walked in one step of COUNT 10
  for (const auto& k : page->keys) CHECK(k.starts_with("anklet/metrics/"));

  for (std::uint64_t count : {std::uint64_t{10}, std::uint64_t{1000}, std::uint64_t{100000}}) {
    CAPTURE(count);
    auto all = c.scan_all("anklet/metrics/*", count);
    REQUIRE(all);
    CHECK(std::set<std::string>(all->begin(), all->end()) == expected);
    CHECK(all->size() == expected.size());
  }
  auto none = c.scan_all("nothing/*");
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("a pipeline of 1000 commands in one write") {
  redis_server srv;
  auto c = make_client(srv.url());
  pipeline w;
  for (int i = 0; i < 1000; ++i) w.add("SET", "k" + std::to_string(i), "value-" + std::to_string(i * 7), "EX", 600);
  auto wr = c.execute(w);
  REQUIRE(wr);
  REQUIRE(wr->size() == 1000);
  for (const auto& rep : *wr) CHECK(rep.str == "OK");

  pipeline rd;
  for (int i = 0; i < 1000; ++i) rd.add("GET", "k" + std::to_string(i));
  rd.add("INCR", "k1");  // an error reply in the middle does not hide the rest
  rd.add("MGET", "k0", "nope", "k999");
  std::size_t seen = 0;
  auto rr = c.execute(rd, [&](std::size_t i, reply&& rep) {
    if (i < 1000) {
      CHECK(rep.str == "value-" + std::to_string(static_cast<int>(i) * 7));
    } else if (i == 1000) {
      CHECK(rep.is_error());
    } else {
      auto vals = client::values_of(std::move(rep));
      REQUIRE(vals);
      CHECK(vals->at(0) == std::optional<std::string>("value-0"));
      CHECK_FALSE(vals->at(1).has_value());
      CHECK(vals->at(2) == std::optional<std::string>("value-6993"));
    }
    ++seen;
  });
  REQUIRE(rr);
  CHECK(seen == 1002);
  CHECK(c.ping());
}

TEST_CASE("keys and values are binary-safe") {
  redis_server srv;
  auto c = make_client(srv.url());
  std::string value;
  for (int b = 0; b < 256; ++b) value += static_cast<char>(b);
  value += "\r\n$3\r\n*1\r\n";
  std::string key("k\0\r\n ey", 7);
  REQUIRE(c.set(key, value));
  auto got = c.get(key);
  REQUIRE(got);
  CHECK(got->value() == value);
  CHECK(c.exists(key).value() == 1);
  CHECK(c.exists(std::string_view("k")).value() == 0);
  std::string big(1 << 20, 'x');
  big[12345] = '\0';
  REQUIRE(c.set("big", big));
  CHECK(c.get("big").value().value() == big);
}

TEST_CASE("SELECT a database, from the URL and by command") {
  redis_server srv;
  auto c3 = make_client(srv.url() + "/3");
  REQUIRE(c3.set("only-in-3", "x"));
  auto c0 = make_client(srv.url());
  CHECK(c0.exists("only-in-3").value() == 0);
  REQUIRE(c0.select(3));
  CHECK(c0.exists("only-in-3").value() == 1);
  // The selected db survives a reconnect.
  c0.disconnect();
  CHECK(c0.exists("only-in-3").value() == 1);
  auto bad = make_client(srv.url() + "/99");
  auto r = bad.ping();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::server);
  CHECK(r.error().message.find("SELECT 99: ERR DB index is out of range") != std::string::npos);
}

TEST_CASE("Unix socket connection") {
  redis_server srv({.extra_args = {}, .unix_socket = true});
  auto c = make_client("unix://" + srv.unix_path() + "?db=1");
  REQUIRE(c.ping());
  REQUIRE(c.set("via-unix", "yes", 60s));
  CHECK(c.get("via-unix").value() == std::optional<std::string>("yes"));
  auto tcp = make_client(srv.url() + "/1");
  CHECK(tcp.get("via-unix").value() == std::optional<std::string>("yes"));

  auto missing = make_client("unix://" + srv.unix_path() + ".nope");
  auto r = missing.ping();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::io);
  CHECK(r.error().message.find("No such file or directory") != std::string::npos);
}

TEST_CASE("requirepass: the right password works, a wrong one is a clear error") {
  redis_server srv({.extra_args = {"--requirepass", "s3cr:t@pw"}});
  auto ok = make_client("redis://:s3cr%3At%40pw@127.0.0.1:" + std::to_string(srv.port()));
  REQUIRE(ok.ping());
  REQUIRE(ok.set("k", "v"));

  auto wrong = make_client("redis://:nope@127.0.0.1:" + std::to_string(srv.port()));
  auto r = wrong.ping();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::server);
  CHECK(r.error().message.starts_with("AUTH: WRONGPASS"));
  CHECK_FALSE(wrong.connected());

  auto none = make_client(srv.url());
  auto n = none.get("k");
  REQUIRE_FALSE(n);
  CHECK(n.error().code == errc::server);
  CHECK(n.error().message.starts_with("NOAUTH"));
}

TEST_CASE("ACL user: user and password work, wrong ones fail") {
  redis_server srv;
  auto admin = make_client(srv.url());
  auto set = admin.command("ACL", "SETUSER", "exporter", "on", ">ex-pw", "~anklet/*", "+@all");
  REQUIRE(set);
  auto port = std::to_string(srv.port());
  auto user = make_client("redis://exporter:ex-pw@127.0.0.1:" + port);
  REQUIRE(user.set("anklet/metrics/h", "v"));
  // The ACL's key pattern applies: the server's NOPERM text comes through.
  auto denied = user.set("elsewhere", "v");
  REQUIRE_FALSE(denied);
  CHECK(denied.error().code == errc::server);
  CHECK(denied.error().message.starts_with("NOPERM"));

  for (auto url : {"redis://exporter:bad@127.0.0.1:" + port, "redis://nobody:ex-pw@127.0.0.1:" + port}) {
    CAPTURE(url);
    auto c = make_client(url);
    auto r = c.ping();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::server);
    CHECK(r.error().message.starts_with("AUTH: WRONGPASS"));
  }
}

TEST_CASE("server restart: I/O error, backoff, then reconnect") {
  redis_server srv;
  client_options o;
  o.backoff_initial = 300ms;
  o.backoff_max = 2s;
  o.backoff_jitter = 0.0;
  o.connect_timeout = 1s;
  o.read_timeout = 1s;
  auto c = make_client(srv.url(), o);
  REQUIRE(c.set("before", "1"));

  srv.kill();
  auto r = c.get("before");
  REQUIRE_FALSE(r);
  CAPTURE(r.error().to_string());
  CHECK((r.error().code == errc::closed || r.error().code == errc::io));
  CHECK_FALSE(c.connected());
  CHECK(c.consecutive_failures() == 1);

  // Inside the backoff window the call fails at once, naming the cause.
  auto fast = c.ping();
  REQUIRE_FALSE(fast);
  CHECK(fast.error().code == errc::backoff);
  CHECK(fast.error().message.find("held back") != std::string::npos);

  // Still down after the window: connection refused, and the window grows.
  std::this_thread::sleep_for(c.backoff_remaining() + 10ms);
  auto refused = c.ping();
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == errc::io);
  CHECK(refused.error().message.find("refused") != std::string::npos);
  CHECK(c.consecutive_failures() == 2);
  CHECK(c.backoff_remaining() > 300ms);

  REQUIRE(srv.start(srv.port()));
  std::this_thread::sleep_for(c.backoff_remaining() + 10ms);
  REQUIRE(c.ping());
  CHECK(c.consecutive_failures() == 0);
  CHECK(c.set("after", "2"));
  CHECK(c.get("before").value() == std::nullopt);  // --save '': nothing survived the kill
}
