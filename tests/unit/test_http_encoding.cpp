// Accept-Encoding as RFC 9110 (12.5.3) reads it, within its limits, and the end of a gzip
// member written without zlib (CRC-32, stored blocks, trailer). No zlib here: the
// compressor itself is tested in test_http_gzip.cpp.
#include "anklet/metrics/http/encoding.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using namespace anklet::metrics::http;

namespace {

content_coding choose(std::string_view value) {
  accepted_codings a;
  a.add(value);
  return a.choose(true);
}

constexpr auto gzip = content_coding::gzip;
constexpr auto identity = content_coding::identity;

}  // namespace

TEST_CASE("Accept-Encoding: what gets gzip") {
  CHECK(choose("gzip") == gzip);
  CHECK(choose("gzip, deflate, br") == gzip);
  CHECK(choose("deflate, gzip;q=1.0, *;q=0.5") == gzip);
  CHECK(choose("x-gzip") == gzip);                      // the alias RFC 9110 keeps
  CHECK(choose("GZip;Q=0.5") == gzip);                  // codings and q are case-insensitive
  CHECK(choose("*") == gzip);                           // any coding, gzip included
  CHECK(choose(" , gzip ; q=0.001 ,") == gzip);         // empty members and whitespace
  CHECK(choose("gzip;level=1") == gzip);                // other parameters are ignored
  CHECK(choose("gzip;q=0.5, identity;q=0.5") == gzip);  // a tie goes to gzip
  CHECK(choose("gzip;q=0.001") == gzip);                // identity unnamed weighs least
}

TEST_CASE("Accept-Encoding: what stays identity") {
  CHECK(choose("") == identity);
  CHECK(choose("identity") == identity);
  CHECK(choose("deflate, br") == identity);
  CHECK(choose("gzip;q=0") == identity);
  CHECK(choose("gzip;q=0.000") == identity);
  CHECK(choose("*;q=0") == identity);
  CHECK(choose("*, gzip;q=0") == identity);                  // named beats *
  CHECK(choose("gzip;q=0.5, identity;q=0.8") == identity);  // identity preferred
  CHECK(choose("gzip;q=0.4, *;q=0.5") == identity);          // * weighs identity too
  CHECK(choose("gzip;q=0, gzip;q=1") == identity);           // the first weight of a coding counts
  // Malformed members are skipped, whatever they say.
  CHECK(choose("gzip;q=2") == identity);
  CHECK(choose("gzip;q=1.5") == identity);
  CHECK(choose("gzip;q=0.1234") == identity);
  CHECK(choose("gzip;q=") == identity);
  CHECK(choose("gzip;q=.5") == identity);
  CHECK(choose("gzip;q=-1") == identity);
  CHECK(choose("gz ip") == identity);
  CHECK(choose("\"gzip\"") == identity);
  CHECK(choose("gzip;q = 1") == identity);
  CHECK(choose("gzip;level") == identity);
  CHECK(choose("gzip;q=1;=2") == identity);
  // Not offered: never gzip.
  accepted_codings a;
  a.add("gzip");
  CHECK(a.choose(false) == identity);
}

TEST_CASE("Accept-Encoding: identity excluded still gets identity (no 406)") {
  accepted_codings a;
  a.add("identity;q=0");
  CHECK(a.identity_weight() == 0);
  CHECK(a.gzip_weight() == 0);
  CHECK(a.choose(true) == identity);
}

TEST_CASE("Accept-Encoding: weights in thousandths") {
  accepted_codings a;
  a.add("gzip;q=0.25, identity;q=1., *;q=0.5");
  CHECK(a.gzip == 250);
  CHECK(a.identity == 1000);
  CHECK(a.any == 500);
  accepted_codings none;
  CHECK(none.gzip_weight() == 0);
  CHECK(none.identity_weight() == 1);  // acceptable, and the least wanted
}

TEST_CASE("Accept-Encoding: several fields form one list") {
  request r;
  r.headers.push_back({"Accept-Encoding", "deflate"});
  r.headers.push_back({"Host", "x"});
  r.headers.push_back({"accept-encoding", "gzip;q=0.7"});
  CHECK(read_accept_encoding(r).choose(true) == gzip);
  r.headers.push_back({"ACCEPT-ENCODING", "identity;q=0.9"});
  CHECK(read_accept_encoding(r).choose(true) == identity);
  CHECK(read_accept_encoding(request{}).choose(true) == identity);  // no field: identity
}

TEST_CASE("Accept-Encoding: limits") {
  accept_encoding_limits limits;
  limits.max_items = 3;
  limits.max_bytes = 64;
  SUBCASE("members past max_items are not read") {
    accepted_codings a;
    a.add("a, b, c, gzip", limits);
    CHECK(a.items_read == 3);
    CHECK(a.choose(true) == identity);
    accepted_codings b;
    b.add(", ,a, ,b, gzip", limits);  // empty members do not count
    CHECK(b.choose(true) == gzip);
  }
  SUBCASE("bytes past max_bytes are not read, nor a member cut by the limit") {
    accepted_codings a;
    a.add(std::string(60, ' ') + ",gzip", limits);
    CHECK(a.bytes_read == 64);
    CHECK(a.choose(true) == identity);
    a.add("gzip", limits);  // nothing after a cut
    CHECK(a.choose(true) == identity);
    accepted_codings b;
    b.add("gzip, " + std::string(100, 'x'), limits);
    CHECK(b.choose(true) == gzip);
  }
  SUBCASE("the byte budget spans fields") {
    request r;
    const std::string filler(40, ' ');
    const std::string second = filler + ",gzip";  // header fields are views: keep the text
    r.headers.push_back({"Accept-Encoding", filler});
    r.headers.push_back({"Accept-Encoding", second});
    CHECK(read_accept_encoding(r, limits).choose(true) == identity);
    CHECK(read_accept_encoding(r).choose(true) == gzip);
  }
}

TEST_CASE("CRC-32 of gzip, continued over pieces") {
  using anklet::metrics::http::detail::crc32;
  CHECK(crc32(0, "") == 0);
  CHECK(crc32(0, "123456789") == 0xCBF43926U);  // the check value of CRC-32/ISO-HDLC
  CHECK(crc32(crc32(0, "1234"), "56789") == 0xCBF43926U);
}

TEST_CASE("close_gzip_member: stored blocks, the last final, then CRC-32 and size") {
  std::string out;
  close_gzip_member(0, 0, "hello", out);
  const std::string expected = std::string("\x01\x05\x00\xfa\xff", 5) + "hello" + std::string("\x86\xa6\x10\x36", 4) +
                               std::string("\x05\x00\x00\x00", 4);
  CHECK(out == expected);  // crc32("hello") = 0x3610a686

  out.clear();
  close_gzip_member(0, 0, "", out);  // an empty tail is one empty final block
  CHECK(out == std::string("\x01\x00\x00\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00", 13));

  out.clear();
  const std::string big(70000, 'z');
  close_gzip_member(0x12345678U, 0x1'0000'0010ULL, big, out);  // two blocks; ISIZE is mod 2^32
  REQUIRE(out.size() == 5 + 65535 + 5 + (70000 - 65535) + 8);
  CHECK(out.substr(0, 5) == std::string("\x00\xff\xff\x00\x00", 5));
  CHECK(out.substr(5 + 65535, 5) == std::string("\x01\x71\x11\x8e\xee", 5));  // 4465 bytes
  const auto size_field = out.substr(out.size() - 4);
  CHECK(size_field == std::string("\x80\x11\x01\x00", 4));  // 0x10 + 70000 = 0x11180
}
