// Connection strings: what is accepted, and that malformed ones name their problem.
#include <doctest/doctest.h>

#include <string>

#include "anklet/metrics/redis/url.hpp"

using namespace anklet::metrics::redis;

namespace {
std::string problem(std::string_view url) {
  auto r = parse_url(url);
  if (r) return "accepted";
  CHECK(r.error().code == errc::invalid_url);
  return r.error().message;
}
}  // namespace

TEST_CASE("redis:// URLs") {
  auto t = parse_url("redis://127.0.0.1").value();
  CHECK(t.host == "127.0.0.1");
  CHECK(t.port == 6379);
  CHECK(t.db == 0);
  CHECK(t.user.empty());
  CHECK(t.password.empty());
  CHECK(t.unix_path.empty());

  t = parse_url("redis://cache.example-1.internal:6380/5").value();
  CHECK(t.host == "cache.example-1.internal");
  CHECK(t.port == 6380);
  CHECK(t.db == 5);

  t = parse_url("redis://:s3cret@localhost").value();
  CHECK(t.user.empty());
  CHECK(t.password == "s3cret");

  t = parse_url("REDIS://anklet:p%40ss%3Aw%2Frd%25@10.0.0.1:7000/").value();
  CHECK(t.user == "anklet");
  CHECK(t.password == "p@ss:w/rd%");
  CHECK(t.port == 7000);
  CHECK(t.db == 0);

  t = parse_url("redis://[::1]:6390/2").value();
  CHECK(t.host == "::1");
  CHECK(t.port == 6390);
  CHECK(t.db == 2);
}

TEST_CASE("unix:// URLs") {
  auto t = parse_url("unix:///run/redis/redis.sock").value();
  CHECK(t.unix_path == "/run/redis/redis.sock");
  CHECK(t.db == 0);
  t = parse_url("unix:///tmp/a%20b.sock?db=3&user=u&password=p%26q").value();
  CHECK(t.unix_path == "/tmp/a b.sock");
  CHECK(t.db == 3);
  CHECK(t.user == "u");
  CHECK(t.password == "p&q");
}

TEST_CASE("malformed URLs name the problem") {
  CHECK(problem("") == "redis URL: empty");
  CHECK(problem("http://x") == "redis URL: unknown scheme (expected redis://, rediss:// or unix://)");
  CHECK(problem("rediss://") == "redis URL: the host is empty");
  CHECK(problem("redis://") == "redis URL: the host is empty");
  CHECK(problem("redis://:6379") == "redis URL: the host is empty");
  CHECK(problem("redis://host:") == "redis URL: the port is empty");
  CHECK(problem("redis://host:0") == "redis URL: the port must be a number from 1 to 65535");
  CHECK(problem("redis://host:65536") == "redis URL: the port must be a number from 1 to 65535");
  CHECK(problem("redis://host:12ab") == "redis URL: the port must be a number from 1 to 65535");
  CHECK(problem("redis://host/x") == "redis URL: the path must be a database number from 0 to 1048576 (redis://host/2)");
  CHECK(problem("redis://host/-1").starts_with("redis URL: the path must be a database number"));
  CHECK(problem("redis://host/99999999999").starts_with("redis URL: the path must be a database number"));
  CHECK(problem("redis://ho st") == "redis URL: invalid character in the host");
  CHECK(problem("redis://user@host") == "redis URL: a user needs a password (redis://user:password@host)");
  CHECK(problem("redis://u:@host") == "redis URL: the password is empty");
  CHECK(problem("redis://u:p%zz@host") == "redis URL: invalid percent-encoding in the password");
  CHECK(problem("redis://u%4:p@host") == "redis URL: invalid percent-encoding in the user");
  CHECK(problem("redis://host?db=1") == "redis URL: query parameters are not supported in redis:// URLs");
  CHECK(problem("redis://host#x") == "redis URL: fragments ('#') are not allowed");
  CHECK(problem("redis://[::1") == "redis URL: unterminated '[' in an IPv6 host");
  CHECK(problem("redis://[::1]x") == "redis URL: unexpected characters after the IPv6 host");
  CHECK(problem("redis://[]") == "redis URL: the host is empty");
  CHECK(problem("unix://") == "redis URL: unix socket path is empty");
  CHECK(problem("unix://relative.sock") == "redis URL: unix socket path must be absolute (unix:///path)");
  CHECK(problem("unix:///a.sock?db=x") == "redis URL: db must be a number from 0 to 1048576");
  CHECK(problem("unix:///a.sock?db") == "redis URL: query parameter without '=' in unix URL");
  CHECK(problem("unix:///a.sock?timeout=1") == "redis URL: unknown query parameter 'timeout' (known: db, user, password)");
  CHECK(problem("unix:///a%00.sock") == "redis URL: unix socket path contains a NUL byte");
  CHECK(problem("unix:///a.sock?user=u") == "redis URL: a user needs a password");
}

TEST_CASE("error messages never repeat the password") {
  auto r = parse_url("redis://u:topsecret@ho$t:1");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("topsecret") == std::string::npos);
}

TEST_CASE("rediss:// is a TCP target with TLS") {
  auto t = parse_url("rediss://u:p@cache.example:6380/2");
  REQUIRE(t);
  CHECK(t->tls);
  CHECK(t->host == "cache.example");
  CHECK(t->port == 6380);
  CHECK(t->db == 2);
  CHECK(t->user == "u");
  CHECK_FALSE(parse_url("redis://cache.example")->tls);
  CHECK(parse_url("REDISS://h")->tls);
}
