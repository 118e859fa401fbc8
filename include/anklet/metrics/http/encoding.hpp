// anklet::metrics::http content codings (docs/http.md, "Compression"): which coding a request
// accepts, read from its Accept-Encoding with explicit limits; the interface a gzip
// compressor plugs in through; and the end of a gzip member written without a compressor,
// so that an answer whose last lines change per request (the aggregator's age) still sends
// its compressed bulk from a cache. Standard library and {fmt} only: the compressor on zlib
// is "anklet/metrics/http/gzip.hpp", which nothing else includes (opt-in, like TLS).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/http/request_parser.hpp"
#include "anklet/metrics/http/response.hpp"

namespace anklet::metrics::http {

/// The codings an answer can be sent in.
enum class content_coding : std::uint8_t { identity, gzip };

/// Bounds on reading Accept-Encoding, which the client writes. What lies beyond them is not
/// read, as if absent: a client that lists gzip after 32 other codings gets identity.
struct accept_encoding_limits {
  static constexpr std::size_t default_max_bytes = 1024;
  static constexpr std::size_t default_max_items = 32;
  /// Bytes of all Accept-Encoding fields of one request read together.
  std::size_t max_bytes = default_max_bytes;
  /// List members read together (empty members are not counted).
  std::size_t max_items = default_max_items;
};

/// What Accept-Encoding fields said, as weights in thousandths (q=0.5 is 500), -1 for a
/// coding they did not name. A member that does not parse (a bad token, parameter or
/// q-value) is skipped; of a coding named twice, the first weight counts.
struct accepted_codings {
  int gzip = -1;      ///< "gzip" or its alias "x-gzip"
  int identity = -1;  ///< "identity"
  int any = -1;       ///< "*": every coding not named
  std::size_t bytes_read = 0;
  std::size_t items_read = 0;

  /// Reads one field value, adding to what earlier fields of the request said.
  void add(std::string_view value, const accept_encoding_limits& limits = {}) noexcept {
    const std::size_t room = limits.max_bytes > bytes_read ? limits.max_bytes - bytes_read : 0;
    if (value.size() > room) {
      value = cut_at_member(value.substr(0, room));
      bytes_read = limits.max_bytes;  // nothing after a cut is read
    } else {
      bytes_read += value.size();
    }
    while (!value.empty()) {
      const auto comma = value.find(',');
      const auto member = detail::trim_ows(value.substr(0, comma));
      value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
      if (member.empty()) continue;
      if (items_read >= limits.max_items) return;
      ++items_read;
      read_member(member);
    }
  }

  /// The weight of gzip: its own, else that of "*", else 0 (not acceptable).
  [[nodiscard]] int gzip_weight() const noexcept { return gzip >= 0 ? gzip : any >= 0 ? any : 0; }
  /// The weight of identity: its own, else that of "*", else 1, the least of any: identity
  /// is acceptable unless excluded (RFC 9110, 12.5.3), and a coding the client named is
  /// what it would rather have.
  [[nodiscard]] int identity_weight() const noexcept { return identity >= 0 ? identity : any >= 0 ? any : 1; }

  /// gzip when offered, acceptable, and weighted at least as much as identity; otherwise
  /// identity, even when the client excluded it (an answer beats a 406 for a scraper).
  [[nodiscard]] content_coding choose(bool gzip_offered) const noexcept {
    const int g = gzip_weight();
    return gzip_offered && g > 0 && g >= identity_weight() ? content_coding::gzip : content_coding::identity;
  }

 private:
  // A value cut by the byte limit keeps only its complete members.
  static std::string_view cut_at_member(std::string_view s) noexcept {
    const auto comma = s.rfind(',');
    return comma == std::string_view::npos ? std::string_view{} : s.substr(0, comma);
  }

  // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), as thousandths; -1 if malformed.
  static int parse_qvalue(std::string_view s) noexcept {
    if (s.empty() || (s[0] != '0' && s[0] != '1') || s.size() > 5) return -1;
    int value = s[0] == '1' ? 1000 : 0;
    if (s.size() == 1) return value;
    if (s[1] != '.') return -1;
    int scale = 100;
    for (const char c : s.substr(2)) {
      if (c < '0' || c > '9' || (value == 1000 && c != '0')) return -1;
      value += (c - '0') * scale;
      scale /= 10;
    }
    return value;
  }

  // coding *( OWS ";" OWS token "=" value ); only q matters, other parameters are ignored.
  void read_member(std::string_view member) noexcept {
    const auto semi = member.find(';');
    const auto coding = detail::trim_ows(member.substr(0, semi));
    if (coding != "*" && !detail::is_token(coding)) return;
    int weight = 1000;
    auto params = semi == std::string_view::npos ? std::string_view{} : member.substr(semi + 1);
    while (!params.empty()) {
      const auto next = params.find(';');
      const auto param = detail::trim_ows(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
      const auto eq = param.find('=');
      if (eq == std::string_view::npos || !detail::is_token(param.substr(0, eq)) || eq + 1 == param.size()) return;
      if (detail::iequals(param.substr(0, eq), "q")) {
        weight = parse_qvalue(param.substr(eq + 1));
        if (weight < 0) return;
      }
    }
    int* slot = coding == "*"                                                        ? &any
                : detail::iequals(coding, "gzip") || detail::iequals(coding, "x-gzip") ? &gzip
                : detail::iequals(coding, "identity")                                 ? &identity
                                                                                      : nullptr;
    if (slot != nullptr && *slot < 0) *slot = weight;
  }
};

/// Reads every Accept-Encoding field of `req` (several fields form one list) within `limits`.
[[nodiscard]] inline accepted_codings read_accept_encoding(const request& req,
                                                           const accept_encoding_limits& limits = {}) noexcept {
  accepted_codings a;
  for (const auto& h : req.headers) {
    if (detail::iequals(h.name, "accept-encoding")) a.add(h.value, limits);
  }
  return a;
}

/// Adds the headers of an answer whose coding followed Accept-Encoding: `Vary` always (a
/// cache must not hand it to a client that asked otherwise), `Content-Encoding` for gzip.
inline void set_content_coding(response& r, content_coding coding) {
  if (coding == content_coding::gzip) r.headers += "Content-Encoding: gzip\r\n";
  r.add_vary("Accept-Encoding");
}

/// Compresses bodies for `Content-Encoding: gzip`. "anklet/metrics/http/gzip.hpp" makes one on
/// zlib; servers take it as a shared pointer (server_options::gzip), and a null pointer means
/// no compression. compress() is called from several threads at once.
class gzip_compressor {
 public:
  gzip_compressor() = default;
  gzip_compressor(const gzip_compressor&) = delete;
  gzip_compressor& operator=(const gzip_compressor&) = delete;
  virtual ~gzip_compressor() = default;

  /// Bodies shorter than this are sent as they are: gzip's 18 bytes of framing and the
  /// compressor's set-up cost more than a few hundred bytes save.
  [[nodiscard]] virtual std::size_t min_bytes() const noexcept = 0;

  /// Appends to `out` a gzip member holding `plain` and returns the CRC-32 of `plain`. With
  /// `open`, the member stops after a flush to a byte boundary, without its last block and
  /// trailer: close_gzip_member() ends it with a tail. Throws std::bad_alloc or
  /// std::runtime_error when the compressor fails; `out` then holds a partial member.
  virtual std::uint32_t compress(std::string_view plain, fmt::memory_buffer& out, bool open) const = 0;
};

namespace detail {

inline constexpr std::array<std::uint32_t, 256> crc32_table = [] {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}();

/// The CRC-32 of gzip (ISO 3309) of the bytes before `data` (`crc`), continued over `data`.
/// A byte at a time: it only ever covers a short tail.
[[nodiscard]] constexpr std::uint32_t crc32(std::uint32_t crc, std::string_view data) noexcept {
  crc = ~crc;
  for (const char ch : data) crc = crc32_table[(crc ^ static_cast<unsigned char>(ch)) & 0xFFU] ^ (crc >> 8);
  return ~crc;
}

inline void put_le32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFFU);
}

}  // namespace detail

/// Appends to `out` the end of an open gzip member (gzip_compressor::compress with `open`)
/// whose content so far is `plain_size` bytes with CRC-32 `plain_crc`: `tail` in stored
/// (uncompressed) deflate blocks, the last one final, then the trailer (CRC-32 and size of
/// all the content). The result is one ordinary gzip member, for any decoder.
inline void close_gzip_member(std::uint32_t plain_crc, std::uint64_t plain_size, std::string_view tail,
                              std::string& out) {
  const std::uint32_t crc = detail::crc32(plain_crc, tail);
  const std::uint64_t size = plain_size + tail.size();
  do {
    const std::size_t n = tail.size() < 65535 ? tail.size() : 65535;
    const auto len = static_cast<std::uint32_t>(n);
    const auto nlen = ~len & 0xFFFFU;
    out += static_cast<char>(n == tail.size() ? 1 : 0);  // BFINAL on the last, BTYPE 00 (stored)
    out += static_cast<char>(len & 0xFFU);
    out += static_cast<char>(len >> 8);
    out += static_cast<char>(nlen & 0xFFU);
    out += static_cast<char>(nlen >> 8);
    out.append(tail.substr(0, n));
    tail.remove_prefix(n);
  } while (!tail.empty());
  detail::put_le32(out, crc);
  detail::put_le32(out, static_cast<std::uint32_t>(size & 0xFFFFFFFFU));
}

}  // namespace anklet::metrics::http
