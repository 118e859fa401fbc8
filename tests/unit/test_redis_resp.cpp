// The RESP2 reply parser and command encoder, without any socket.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "anklet/metrics/redis/resp.hpp"

using namespace anklet::metrics::redis;
using st = reply_parser::status;

namespace {

// A compact, unambiguous rendering so replies can be compared as strings.
std::string show(const reply& r) {
  switch (r.type) {
    case reply_type::nil: return "nil";
    case reply_type::simple_string: return "+" + r.str;
    case reply_type::error: return "-" + r.str;
    case reply_type::integer: return ":" + std::to_string(r.integer);
    case reply_type::bulk_string: return "$" + std::to_string(r.str.size()) + "[" + r.str + "]";
    case reply_type::array: {
      std::string s = "[";
      for (const auto& e : r.elements) s += show(e) + ",";
      return s + "]";
    }
  }
  return "?";
}

// Feeds `bytes` in chunks of `chunk` and collects every complete reply.
std::vector<std::string> parse_all(std::string_view bytes, std::size_t chunk, reply_limits limits = {},
                                   std::string* err = nullptr) {
  reply_parser p(limits);
  std::vector<std::string> out;
  reply r;
  for (std::size_t i = 0; i < bytes.size(); i += chunk) {
    p.feed(bytes.substr(i, chunk));
    for (;;) {
      auto s = p.next(r);
      if (s == st::complete) {
        out.push_back(show(r));
        continue;
      }
      if (s == st::error) {
        if (err) *err = std::string(to_string(p.last_error().code)) + ": " + p.last_error().message;
        return out;
      }
      break;
    }
  }
  return out;
}

std::string parse_error(std::string_view bytes, reply_limits limits = {}) {
  std::string err;
  parse_all(bytes, bytes.size() == 0 ? 1 : bytes.size(), limits, &err);
  return err;
}

}  // namespace

TEST_CASE("each reply type parses") {
  CHECK(parse_all("+OK\r\n", 64) == std::vector<std::string>{"+OK"});
  CHECK(parse_all("-ERR bad thing\r\n", 64) == std::vector<std::string>{"-ERR bad thing"});
  CHECK(parse_all(":42\r\n:-7\r\n:0\r\n", 64) == std::vector<std::string>{":42", ":-7", ":0"});
  CHECK(parse_all(":9223372036854775807\r\n:-9223372036854775808\r\n", 64) ==
        std::vector<std::string>{":9223372036854775807", ":-9223372036854775808"});
  CHECK(parse_all("$5\r\nhello\r\n$0\r\n\r\n$-1\r\n", 64) == std::vector<std::string>{"$5[hello]", "$0[]", "nil"});
  CHECK(parse_all("*-1\r\n*0\r\n", 64) == std::vector<std::string>{"nil", "[]"});
  CHECK(parse_all("*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n+x\r\n", 64) ==
        std::vector<std::string>{"[:1,[$1[a],nil,],+x,]"});
  CHECK(parse_all("*2\r\n*1\r\n*0\r\n*1\r\n*1\r\n:5\r\n", 64) == std::vector<std::string>{"[[[],],[[:5,],],]"});
}

TEST_CASE("bulk strings are binary-safe") {
  std::string payload("a\r\nb\0c\r", 7);
  std::string wire = "$7\r\n" + payload + "\r\n";
  reply_parser p;
  p.feed(wire);
  reply r;
  REQUIRE(p.next(r) == st::complete);
  CHECK(r.type == reply_type::bulk_string);
  CHECK(r.str == payload);
  CHECK(p.next(r) == st::incomplete);
}

TEST_CASE("every chunking gives the same replies as one feed") {
  const std::string wire =
      "+OK\r\n-WRONGTYPE Operation\r\n:123456789\r\n$12\r\nhello\r\nworld\r\n$-1\r\n*0\r\n*-1\r\n"
      "*2\r\n$1\r\n0\r\n*3\r\n$5\r\nkey:1\r\n$5\r\nkey:2\r\n$0\r\n\r\n"
      "*4\r\n*1\r\n*1\r\n:1\r\n+\r\n-\r\n$3\r\n\r\n\r\r\n";
  const auto whole = parse_all(wire, wire.size());
  REQUIRE(whole.size() == 9);
  CHECK(whole[3] == "$12[hello\r\nworld]");
  CHECK(whole[7] == "[$1[0],[$5[key:1],$5[key:2],$0[],],]");
  CHECK(whole[8] == "[[[:1,],],+,-,$3[\r\n\r],]");
  for (std::size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    CAPTURE(chunk);
    CHECK(parse_all(wire, chunk) == whole);
  }
}

TEST_CASE("incomplete input stays incomplete until the last byte") {
  const std::string wire = "*2\r\n$3\r\nfoo\r\n:1\r\n";
  reply_parser p;
  reply r;
  for (std::size_t i = 0; i + 1 < wire.size(); ++i) {
    p.feed(wire.substr(i, 1));
    REQUIRE(p.next(r) == st::incomplete);
    CHECK(p.mid_reply());
  }
  p.feed(wire.substr(wire.size() - 1));
  REQUIRE(p.next(r) == st::complete);
  CHECK(show(r) == "[$3[foo],:1,]");
  CHECK_FALSE(p.mid_reply());
}

TEST_CASE("malformed replies are protocol errors") {
  CHECK(parse_error("?what\r\n").starts_with("protocol: unknown reply type byte 0x3f"));
  CHECK(parse_error(":abc\r\n").starts_with("protocol: invalid integer"));
  CHECK(parse_error(":+5\r\n").starts_with("protocol:"));
  CHECK(parse_error(": 5\r\n").starts_with("protocol:"));
  CHECK(parse_error(":\r\n").starts_with("protocol:"));
  CHECK(parse_error(":-\r\n").starts_with("protocol:"));
  CHECK(parse_error(":9223372036854775808\r\n").starts_with("protocol:"));
  CHECK(parse_error(":-9223372036854775809\r\n").starts_with("protocol:"));
  CHECK(parse_error(":99999999999999999999999\r\n").starts_with("protocol:"));
  CHECK(parse_error("$-2\r\n").starts_with("protocol: negative bulk"));
  CHECK(parse_error("*-5\r\n").starts_with("protocol: negative array"));
  CHECK(parse_error("$3\r\nabcXY").starts_with("protocol: bulk string not terminated"));
  CHECK(parse_error("+OK\rX\n").starts_with("protocol: CR not followed by LF"));
  CHECK(parse_error("+O\nK\r\n").starts_with("protocol: LF without CR"));
  CHECK(parse_error("\r\n").starts_with("protocol: empty reply line"));
  CHECK(parse_error("$x\r\n").starts_with("protocol: invalid bulk"));
}

TEST_CASE("limits refuse hostile sizes before allocating") {
  // 4 GiB bulk and 4 billion elements: each announced by a header of a few bytes.
  {
    reply_parser p;
    p.feed("$4294967296\r\n");
    reply r;
    REQUIRE(p.next(r) == st::error);
    CHECK(p.last_error().code == errc::limit);
    CHECK(p.last_error().message.find("max_bulk_length") != std::string::npos);
    CHECK(p.buffer_capacity() < 4096);
  }
  {
    reply_parser p;
    p.feed("*4294967296\r\n");
    reply r;
    REQUIRE(p.next(r) == st::error);
    CHECK(p.last_error().code == errc::limit);
    CHECK(p.last_error().message.find("max_array_length") != std::string::npos);
  }
  // Within the limits but with no data behind it: nothing big is reserved; the parser waits.
  {
    reply_limits lim;
    lim.max_array_length = std::size_t{1} << 30;
    lim.max_reply_bytes = std::size_t{1} << 40;
    lim.max_bulk_length = std::size_t{1} << 40;
    reply_parser p(lim);
    p.feed("*1000000000\r\n$1000000000\r\nab");
    reply r;
    CHECK(p.next(r) == st::incomplete);
    CHECK(p.buffer_capacity() < 4096);
  }
  CHECK(parse_error("$11\r\nhello world\r\n", {.max_bulk_length = 10}).starts_with("limit:"));
  CHECK(parse_error("*3\r\n:1\r\n:2\r\n:3\r\n", {.max_array_length = 2}).starts_with("limit:"));
  CHECK(parse_all("*2\r\n:1\r\n:2\r\n", 1, {.max_array_length = 2}).size() == 1);
}

TEST_CASE("a bulk string over discard_bulk_over inside an array is streamed away, its neighbours kept") {
  reply_limits lim;
  lim.max_bulk_length = 16;  // the discarded one is longer still: nested, it is not an error
  lim.discard_bulk_over = 8;
  reply_parser p(lim);
  const std::string big(100000, 'x');
  const std::string wire = "*3\r\n$2\r\nok\r\n$" + std::to_string(big.size()) + "\r\n" + big + "\r\n$3\r\nyes\r\n";
  reply r;
  std::size_t peak = 0;
  for (std::size_t i = 0; i < wire.size(); i += 1000) {
    p.feed(std::string_view(wire).substr(i, 1000));
    peak = std::max(peak, p.buffer_capacity());
    if (i + 1000 < wire.size()) CHECK(p.next(r) == st::incomplete);
  }
  REQUIRE(p.next(r) == st::complete);
  CHECK(peak < 8192);  // never held whole
  REQUIRE(r.elements.size() == 3);
  CHECK(r.elements[0].str == "ok");
  CHECK(r.elements[1].discarded);
  CHECK(r.elements[1].str.empty());
  CHECK(r.elements[1].integer == 100000);
  CHECK(r.elements[2].str == "yes");
  CHECK_FALSE(r.elements[2].discarded);
  // At the top level the usual limit still fails the reply.
  CHECK(parse_error("$20\r\n01234567890123456789\r\n", lim).starts_with("limit:"));
}

TEST_CASE("discard_over_budget: elements past max_reply_bytes are dropped, the reply completes") {
  reply_limits lim;
  lim.max_reply_bytes = 4096;
  lim.discard_over_budget = true;
  reply_parser p(lim);
  std::string wire = "*4\r\n";
  const std::string v(1500, 'v');
  for (int i = 0; i < 4; ++i) wire += "$1500\r\n" + v + "\r\n";
  p.feed(wire);
  reply r;
  REQUIRE(p.next(r) == st::complete);
  REQUIRE(r.elements.size() == 4);
  CHECK(r.elements[0].str == v);
  CHECK(r.elements[1].str == v);
  CHECK(r.elements[2].discarded);
  CHECK(r.elements[3].discarded);
  CHECK(r.elements[3].integer == 1500);
  // The next reply starts with a fresh budget.
  p.feed("*1\r\n$2\r\nhi\r\n");
  REQUIRE(p.next(r) == st::complete);
  CHECK(r.elements[0].str == "hi");
}

TEST_CASE("nesting is bounded without recursion") {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "*1\r\n";
  auto err = parse_error(deep);
  CHECK(err.starts_with("limit: arrays nested deeper than max_depth (16)"));
  // Exactly max_depth levels are fine.
  std::string ok;
  for (int i = 0; i < 16; ++i) ok += "*1\r\n";
  ok += ":1\r\n";
  CHECK(parse_all(ok, 3).size() == 1);
  CHECK(parse_error(ok + "", {.max_depth = 15}).starts_with("limit:"));
}

TEST_CASE("total size and line length are bounded") {
  reply_limits lim;
  lim.max_reply_bytes = 1000;
  std::string many = "*200\r\n";
  for (int i = 0; i < 200; ++i) many += ":1\r\n";
  CHECK(parse_error(many, lim).starts_with("limit: reply larger than max_reply_bytes"));
  // The budget is per reply: many small replies in a row are fine.
  std::string seq;
  for (int i = 0; i < 1000; ++i) seq += "+OK\r\n";
  CHECK(parse_all(seq, 7, lim).size() == 1000);

  std::string endless(200000, 'x');
  endless.insert(0, "+");
  std::string err;
  parse_all(endless, 4096, {}, &err);
  CHECK(err.starts_with("limit: line longer than max_line_length"));
}

TEST_CASE("errors are sticky until reset") {
  reply_parser p;
  p.feed("!bogus\r\n");
  reply r;
  REQUIRE(p.next(r) == st::error);
  p.feed("+OK\r\n");
  CHECK(p.next(r) == st::error);
  CHECK(p.failed());
  p.reset();
  CHECK_FALSE(p.failed());
  p.feed("+OK\r\n");
  REQUIRE(p.next(r) == st::complete);
  CHECK(r.str == "OK");
}

TEST_CASE("prepare/commit reads straight into the buffer") {
  reply_parser p;
  const std::string wire = "$3\r\nabc\r\n";
  auto area = p.prepare(4);
  REQUIRE(area.size() >= 4);
  std::memcpy(area.data(), wire.data(), 4);
  p.commit(4);
  reply r;
  CHECK(p.next(r) == st::incomplete);
  area = p.prepare(wire.size() - 4);
  std::memcpy(area.data(), wire.data() + 4, wire.size() - 4);
  p.commit(wire.size() - 4);
  REQUIRE(p.next(r) == st::complete);
  CHECK(r.str == "abc");
}

TEST_CASE("commands are encoded as arrays of bulk strings") {
  CHECK(encode_command("SET", "k", "v") == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  CHECK(encode_command("EXPIRE", "k", 604800) == "*3\r\n$6\r\nEXPIRE\r\n$1\r\nk\r\n$6\r\n604800\r\n");
  CHECK(encode_command("INCRBY", "k", -5LL) == "*3\r\n$6\r\nINCRBY\r\n$1\r\nk\r\n$2\r\n-5\r\n");
  std::vector<std::string> keys{"a", "bb", ""};
  CHECK(encode_command("MGET", keys) == "*4\r\n$4\r\nMGET\r\n$1\r\na\r\n$2\r\nbb\r\n$0\r\n\r\n");
  std::string bin("x\0\r\ny", 5);
  std::string out;
  append_command(out, "SET", bin, std::string_view("v"));
  append_command(out, "PING");
  // Round trip: the encoded command is itself valid RESP, an array of bulk strings.
  reply_parser p;
  p.feed(out);
  reply r;
  REQUIRE(p.next(r) == st::complete);
  REQUIRE(r.elements.size() == 3);
  CHECK(r.elements[1].str == bin);
  REQUIRE(p.next(r) == st::complete);
  CHECK(show(r) == "[$4[PING],]");
  std::vector<std::string_view> argv{"DEL", "a", "b"};
  std::string o2;
  append_command_argv(o2, argv);
  CHECK(o2 == encode_command("DEL", "a", "b"));
}

TEST_CASE("a parser moved in the middle of a reply carries on") {
  reply_parser a;
  a.feed("*2\r\n*1\r\n$5\r\nhel");
  reply r;
  REQUIRE(a.next(r) == st::incomplete);
  reply_parser b(std::move(a));
  b.feed("lo\r\n:3\r\n");
  REQUIRE(b.next(r) == st::complete);
  CHECK(show(r) == "[[$5[hello],],:3,]");
  reply_parser c;
  c.feed("$3\r\na");
  REQUIRE(c.next(r) == st::incomplete);
  b = std::move(c);
  b.feed("bc\r\n");
  REQUIRE(b.next(r) == st::complete);
  CHECK(r.str == "abc");
}
