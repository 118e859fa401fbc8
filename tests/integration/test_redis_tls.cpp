// TLS (rediss://) against a real redis-server with --tls-port, with certificates this test
// makes with the openssl program: a verified connection by address and by name, a wrong CA
// and a wrong name refused with a clear error, the insecure switch, a client certificate,
// and a client without TLS refusing rediss://.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/cluster.hpp"
#include "anklet/metrics/redis/tls.hpp"
#include "redis_cluster.hpp"
#include "redis_test_server.hpp"

using namespace anklet::metrics;
using namespace std::chrono_literals;

namespace {

// A CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and a
// second CA that signed none of them; in a temporary directory removed at exit.
struct certificates {
  std::string dir;
  certificates() {
    char tmpl[] = "/tmp/anklet-tls-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    dir = tmpl;
    const std::string d = dir;
    const std::string script =
        "set -e; cd '" + d + "'; exec > openssl.log 2>&1\n"
        "for ca in ca wrong; do\n"
        "  openssl req -x509 -newkey rsa:2048 -nodes -keyout $ca.key -out $ca.crt -days 2 -subj \"/CN=anklet test $ca CA\"\n"
        "done\n"
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost\n"
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext\n"
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
        "-extfile server.ext\n"
        "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=anklet-client\n"
        "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2\n";
    const std::string cmd = "/bin/sh -c \"$ANKLET_TLS_SCRIPT\"";
    ::setenv("ANKLET_TLS_SCRIPT", script.c_str(), 1);
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl failed; see " + d + "/openssl.log");
  }
  ~certificates() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  [[nodiscard]] std::string file(const char* name) const { return dir + "/" + name; }
};

const certificates& certs() {
  static certificates c;
  return c;
}

// A redis-server answering TLS on tls_port (and plain TCP on its port, for readiness).
struct tls_redis {
  int tls_port = anklet_test::free_loopback_port();
  anklet_test::redis_server server;
  explicit tls_redis(bool client_certs)
      : server(anklet_test::redis_config{{"--tls-port", std::to_string(tls_port), "--tls-cert-file",
                                          certs().file("server.crt"), "--tls-key-file", certs().file("server.key"),
                                          "--tls-ca-cert-file", certs().file("ca.crt"), "--tls-auth-clients",
                                          client_certs ? "yes" : "no"},
                                         false, false}) {}
};

tls_redis& server() {
  static tls_redis s(false);
  return s;
}

redis::client tls_client(const std::string& host, int port, const redis::tls_settings& s) {
  redis::client_options o;
  o.target = redis::parse_url("rediss://" + host + ":" + std::to_string(port)).value();
  o.connect_timeout = 2s;
  auto layer = redis::tls_layer(s);
  REQUIRE(layer);
  o.tls = layer.value();
  o.backoff_jitter = 0;
  return redis::client(o);
}

redis::tls_settings with_ca(const char* ca) {
  redis::tls_settings s;
  s.ca_file = certs().file(ca);
  return s;
}

}  // namespace

TEST_CASE("a verified TLS connection, by address and by host name") {
  auto c = tls_client("127.0.0.1", server().tls_port, with_ca("ca.crt"));
  REQUIRE(c.ping());
  REQUIRE(c.set("tls/k", std::string(100000, 'x'), 60s));
  auto v = c.get("tls/k");
  REQUIRE(v);
  CHECK(v->value_or("").size() == 100000);
  auto by_name = tls_client("localhost", server().tls_port, with_ca("ca.crt"));
  CHECK(by_name.ping());
  // A CA directory works as a file does.
  redis::tls_settings dir;
  dir.ca_dir = certs().dir;
  std::string hash_cmd = "cd '" + certs().dir + "' && ln -sf ca.crt \"$(openssl x509 -hash -noout -in ca.crt).0\"";
  REQUIRE(std::system(hash_cmd.c_str()) == 0);
  auto by_dir = tls_client("127.0.0.1", server().tls_port, dir);
  CHECK(by_dir.ping());
}

TEST_CASE("a server certificate from another CA is refused with a clear error") {
  auto c = tls_client("127.0.0.1", server().tls_port, with_ca("wrong.crt"));
  auto r = c.ping();
  REQUIRE_FALSE(r);
  CAPTURE(r.error().to_string());
  CHECK(r.error().code == redis::errc::io);
  CHECK(r.error().message.find("server certificate not trusted") != std::string::npos);
  // The system store does not know our test CA either.
  auto sys = tls_client("127.0.0.1", server().tls_port, {});
  auto rs = sys.ping();
  REQUIRE_FALSE(rs);
  CHECK(rs.error().message.find("server certificate not trusted") != std::string::npos);
}

TEST_CASE("a certificate for another name is refused") {
  auto s = with_ca("ca.crt");
  s.server_name = "redis.example";
  auto c = tls_client("127.0.0.1", server().tls_port, s);
  auto r = c.ping();
  REQUIRE_FALSE(r);
  CAPTURE(r.error().to_string());
  CHECK(r.error().message.find("mismatch") != std::string::npos);
}

TEST_CASE("the insecure switch accepts any certificate") {
  auto s = with_ca("wrong.crt");
  s.insecure = true;
  s.server_name = "redis.example";
  auto c = tls_client("127.0.0.1", server().tls_port, s);
  CHECK(c.ping());
}

TEST_CASE("a server that asks for a client certificate") {
  tls_redis strict(true);
  auto none = tls_client("127.0.0.1", strict.tls_port, with_ca("ca.crt"));
  auto r = none.ping();
  REQUIRE_FALSE(r);
  CAPTURE(r.error().to_string());
  auto s = with_ca("ca.crt");
  s.cert_file = certs().file("client.crt");
  s.key_file = certs().file("client.key");
  auto with_cert = tls_client("127.0.0.1", strict.tls_port, s);
  CHECK(with_cert.ping());
}

TEST_CASE("settings that cannot work fail when the layer is made") {
  redis::tls_settings s;
  s.ca_file = certs().dir + "/missing.crt";
  auto l = redis::tls_layer(s);
  REQUIRE_FALSE(l);
  CHECK(l.error().code == redis::errc::invalid_argument);
  CHECK(l.error().message.find("cannot load the CA") != std::string::npos);
  redis::tls_settings half;
  half.cert_file = certs().file("client.crt");
  REQUIRE_FALSE(redis::tls_layer(half));
  redis::tls_settings mismatch;
  mismatch.cert_file = certs().file("client.crt");
  mismatch.key_file = certs().file("server.key");
  auto m = redis::tls_layer(mismatch);
  REQUIRE_FALSE(m);
  CHECK(m.error().message.find("client key") != std::string::npos);
}

TEST_CASE("rediss:// without a TLS layer is refused, saying what is missing") {
  redis::client_options o;
  o.target = redis::parse_url("rediss://127.0.0.1:" + std::to_string(server().tls_port)).value();
  redis::client c(o);
  auto r = c.ping();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == redis::errc::invalid_argument);
  CHECK(r.error().message.find("rediss:// needs TLS") != std::string::npos);
  // A plain client on the TLS port gets no answer it can read; TLS on the plain port fails too.
  auto plain_on_tls = tls_client("127.0.0.1", server().server.port(), with_ca("ca.crt"));
  CHECK_FALSE(plain_on_tls.ping());
}

TEST_CASE("a TLS cluster: verified connections to every master, routing and the fleet read") {
  anklet_test::redis_cluster cl(3, 0, 500,
                                anklet_test::cluster_tls{certs().file("server.crt"), certs().file("server.key"),
                                                         certs().file("ca.crt")});
  redis::cluster_options o;
  o.node.target = redis::parse_url("rediss://127.0.0.1:" + std::to_string(cl.seed_tls_port())).value();
  o.node.tls = redis::tls_layer(with_ca("ca.crt")).value();
  redis::cluster_client c(o);
  for (int i = 0; i < 30; ++i) REQUIRE(c.set("tls-cluster/" + std::to_string(i), std::to_string(i)));
  REQUIRE(c.slots().masters().size() == 3);
  for (const auto& m : c.slots().masters()) {
    REQUIRE(cl.by_port(m.port) != nullptr);
    CHECK(cl.by_port(m.port)->port() != m.port);  // the map names TLS ports, not plain ones
  }
  CHECK(c.node_count() == 3);
  for (int i = 0; i < 30; ++i) CHECK(c.get("tls-cluster/" + std::to_string(i)).value().value_or("") == std::to_string(i));
  CHECK(c.redirections() == 0);
  // The wrong CA is refused on the seed already.
  redis::cluster_options bad = o;
  bad.node.tls = redis::tls_layer(with_ca("wrong.crt")).value();
  redis::cluster_client b(bad);
  auto r = b.set("k", "v");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("server certificate not trusted") != std::string::npos);
}
