// Cluster slots without a server: CRC16 and hash tags against the Redis Cluster
// specification's examples, the CLUSTER SLOTS parser on good and bad maps, MOVED/ASK text.
#include <doctest/doctest.h>

#include <string>

#include "anklet/metrics/redis/slots.hpp"

using namespace anklet::metrics::redis;

namespace {

// Parses RESP text into one reply.
reply parse_reply(std::string_view wire) {
  reply_parser p;
  p.feed(wire);
  reply r;
  REQUIRE(p.next(r) == reply_parser::status::complete);
  return r;
}

std::string node(std::string_view host, int port, std::string_view id = "") {
  std::string s = id.empty() ? "*2\r\n" : "*3\r\n";
  s += "$" + std::to_string(host.size()) + "\r\n" + std::string(host) + "\r\n:" + std::to_string(port) + "\r\n";
  if (!id.empty()) s += "$" + std::to_string(id.size()) + "\r\n" + std::string(id) + "\r\n";
  return s;
}

std::string range(int first, int last, const std::string& master, const std::string& replica = "") {
  return std::string(replica.empty() ? "*3" : "*4") + "\r\n:" + std::to_string(first) + "\r\n:" +
         std::to_string(last) + "\r\n" + master + replica;
}

std::string array_of(std::initializer_list<std::string> items) {
  std::string s = "*" + std::to_string(items.size()) + "\r\n";
  for (const auto& i : items) s += i;
  return s;
}

}  // namespace

TEST_CASE("CRC16 is XMODEM, as the cluster specification's reference value says") {
  CHECK(crc16("123456789") == 0x31C3);
  CHECK(crc16("") == 0);
  // Values CLUSTER KEYSLOT gives (also checked against a real cluster in test_redis_cluster).
  CHECK(key_slot("somekey") == 11058);
  CHECK(key_slot("foo") == 12182);
  CHECK(key_slot("hello") == 866);
  CHECK(key_slot("foo{hash_tag}") == 2515);
}

TEST_CASE("hash tags as the cluster specification defines them") {
  CHECK(key_slot("{user1000}.following") == key_slot("{user1000}.followers"));
  CHECK(key_slot("{user1000}.following") == key_slot("user1000"));
  CHECK(hash_tag("foo{}{bar}") == "foo{}{bar}");  // empty first tag: the whole key
  CHECK(key_slot("foo{}{bar}") == key_slot(std::string_view("foo{}{bar}")));
  CHECK(key_slot("foo{}{bar}") != key_slot("bar"));
  CHECK(hash_tag("foo{{bar}}zap") == "{bar");
  CHECK(key_slot("foo{{bar}}zap") == key_slot("{bar"));
  CHECK(hash_tag("foo{bar}{zap}") == "bar");
  CHECK(hash_tag("no tag") == "no tag");
  CHECK(hash_tag("open{only") == "open{only");
  CHECK(hash_tag("close}only{") == "close}only{");
  CHECK(hash_tag("}{x}") == "x");
  // Binary keys hash every byte.
  CHECK(key_slot(std::string_view("a\0b", 3)) != key_slot("a"));
}

TEST_CASE("a CLUSTER SLOTS reply becomes a slot map") {
  const auto wire = array_of({range(0, 5460, node("127.0.0.1", 7000, "id-a"), node("127.0.0.1", 7003)),
                              range(5461, 10922, node("127.0.0.1", 7001, "id-b")),
                              range(10923, 16383, node("", 7002, "id-c"))});
  auto map = parse_cluster_slots(parse_reply(wire), "10.1.2.3");
  REQUIRE(map);
  CHECK(map->holes() == 0);
  REQUIRE(map->masters().size() == 3);
  CHECK(map->master_of(0)->port == 7000);
  CHECK(map->master_of(0)->id == "id-a");
  CHECK(map->master_of(5460)->port == 7000);
  CHECK(map->master_of(5461)->port == 7001);
  // An empty host is the host the reply came from.
  CHECK(map->master_of(16383)->host == "10.1.2.3");
  CHECK(map->master_of(16383)->address() == "10.1.2.3:7002");
  CHECK(map->master_of(16384) == nullptr);
}

TEST_CASE("holes, unknown endpoints and one master for several ranges") {
  const auto wire = array_of({range(0, 99, node("127.0.0.1", 7000)), range(200, 299, node("127.0.0.1", 7000)),
                              range(300, 399, node("?", 7001))});
  auto map = parse_cluster_slots(parse_reply(wire), "127.0.0.1");
  REQUIRE(map);
  CHECK(map->masters().size() == 1);
  CHECK(map->master_of(100) == nullptr);
  CHECK(map->master_of(350) == nullptr);
  CHECK(map->master_of(250)->port == 7000);
  CHECK(map->holes() == cluster_slots - 200);
}

TEST_CASE("malformed CLUSTER SLOTS replies are refused with a reason") {
  struct bad {
    std::string wire;
    errc code;
    std::string part;
  };
  const bad cases[] = {
      {"+OK\r\n", errc::protocol, "expected an array"},
      {"-ERR This instance has cluster support disabled\r\n", errc::server, "cluster support disabled"},
      {array_of({"*2\r\n:0\r\n:1\r\n"}), errc::protocol, "not [first, last, master"},
      {array_of({range(10, 5, node("h", 1))}), errc::protocol, "invalid slot numbers"},
      {array_of({range(0, 16384, node("h", 1))}), errc::protocol, "invalid slot numbers"},
      {array_of({"*3\r\n:-1\r\n:3\r\n" + node("h", 1)}), errc::protocol, "invalid slot numbers"},
      {array_of({range(0, 1, node("h", 0))}), errc::protocol, "port"},
      {array_of({range(0, 1, node("h", 70000))}), errc::protocol, "port"},
      {array_of({range(0, 1, "*1\r\n$1\r\nh\r\n")}), errc::protocol, "not [host, port"},
      {array_of({range(0, 1, "*2\r\n:5\r\n:6\r\n")}), errc::protocol, "host is not a string"},
      {array_of({range(0, 1, node("bad host\r", 1))}), errc::protocol, "invalid host"},
      {array_of({range(0, 1, node(std::string(300, 'a'), 1))}), errc::limit, "longer than 255"},
      {array_of({range(0, 10, node("a", 1)), range(10, 20, node("b", 1))}), errc::protocol, "two ranges"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.wire);
    auto map = parse_cluster_slots(parse_reply(c.wire), "127.0.0.1");
    REQUIRE_FALSE(map);
    CHECK(map.error().code == c.code);
    CHECK(map.error().message.find(c.part) != std::string::npos);
  }
}

TEST_CASE("slot map limits: ranges and masters") {
  std::string wire = "*20\r\n";
  for (int i = 0; i < 20; ++i) wire += range(i, i, node("127.0.0.1", 1000 + i));
  slot_map_limits l;
  l.max_masters = 10;
  auto map = parse_cluster_slots(parse_reply(wire), "h", l);
  REQUIRE_FALSE(map);
  CHECK(map.error().code == errc::limit);
  l = {};
  l.max_ranges = 19;
  map = parse_cluster_slots(parse_reply(wire), "h", l);
  REQUIRE_FALSE(map);
  CHECK(map.error().code == errc::limit);
  CHECK(parse_cluster_slots(parse_reply(wire), "h"));
}

TEST_CASE("MOVED moves one slot; a master left without slots leaves the map") {
  auto map = parse_cluster_slots(parse_reply(array_of({range(0, 0, node("a", 1)), range(1, 16383, node("b", 1))})), "");
  REQUIRE(map);
  CHECK(map->masters().size() == 2);
  CHECK(map->assign(0, cluster_node{"b", 1, {}}));
  CHECK(map->masters().size() == 1);
  CHECK(map->master_of(0)->host == "b");
  CHECK(map->assign(5, cluster_node{"c", 2, {}}));
  CHECK(map->master_of(5)->host == "c");
  CHECK(map->master_of(6)->host == "b");
  CHECK_FALSE(map->assign(7, cluster_node{"d", 3, {}}, 2));
  CHECK(map->master_of(7)->host == "b");
}

TEST_CASE("MOVED and ASK error texts") {
  auto m = parse_redirect("MOVED 3999 127.0.0.1:6381", "x");
  REQUIRE(m);
  CHECK(m->type == redirect::kind::moved);
  CHECK(m->slot == 3999);
  CHECK(m->node.address() == "127.0.0.1:6381");
  auto a = parse_redirect("ASK 1 :7000", "10.0.0.1");
  REQUIRE(a);
  CHECK(a->type == redirect::kind::ask);
  CHECK(a->node.address() == "10.0.0.1:7000");
  auto v6 = parse_redirect("MOVED 2 ::1:7000", "x");
  REQUIRE(v6);
  CHECK(v6->node.host == "::1");
  CHECK(v6->node.address() == "[::1]:7000");
  for (const char* bad : {"ERR wrong", "MOVED", "MOVED 16384 h:1", "MOVED x h:1", "MOVED 1 h", "MOVED 1 h:0",
                          "MOVED 1 h:65536", "MOVED 1 h:1x", "MOVED 1 bad host:1", "ASK  h:1", "MOVED 123456 h:1",
                          "MOVED 1 ?:1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_redirect(bad, ""));
  }
}
