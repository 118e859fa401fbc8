// anklet::metrics::redis reply shapes: what the client and the cluster client make of the
// replies of MGET and SCAN, and how a reply of the wrong shape is reported. Pure functions
// of a reply, so a pipeline's callback can use them without touching a connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/redis/error.hpp"
#include "anklet/metrics/redis/resp.hpp"

namespace anklet::metrics::redis {

/// One page of SCAN: the cursor to continue with (0 when done) and the keys found.
struct scan_page {
  std::uint64_t cursor = 0;
  std::vector<std::string> keys;
  /// Keys the reply limits threw away (reply_limits::discard_bulk_over): too long to keep.
  std::size_t discarded = 0;
};

/// errc::protocol: `r` is not the kind of reply `what` answers with.
[[nodiscard]] inline redis::error shape_error(std::string_view what, const reply& r) {
  return {errc::protocol, "unexpected " + std::string(to_string(r.type)) + " reply to " + std::string(what)};
}

/// The values of an MGET reply, nullopt where a key does not exist.
[[nodiscard]] inline result<std::vector<std::optional<std::string>>> mget_values(reply&& r) {
  constexpr std::string_view what = "MGET";
  if (r.is_error()) return redis::error{errc::server, std::move(r.str)};
  if (!r.is_array()) return shape_error(what, r);
  std::vector<std::optional<std::string>> out;
  out.reserve(r.elements.size());
  for (auto& e : r.elements) {
    if (e.is_nil()) {
      out.emplace_back();
    } else if (e.discarded) {
      return redis::error{errc::limit, "MGET: a value of " + std::to_string(e.integer) + " bytes exceeds discard_bulk_over"};
    } else if (e.type == reply_type::bulk_string) {
      out.emplace_back(std::move(e.str));
    } else {
      return shape_error(what, e);
    }
  }
  return out;
}

/// The page of a SCAN reply.
[[nodiscard]] inline result<scan_page> scan_page_of(reply&& r) {
  if (r.is_error()) return redis::error{errc::server, std::move(r.str)};
  if (!r.is_array() || r.elements.size() != 2 || r.elements[0].type != reply_type::bulk_string ||
      !r.elements[1].is_array()) {
    return shape_error("SCAN", r);
  }
  scan_page page;
  const std::string& c = r.elements[0].str;
  if (c.size() > 20 || !metrics::detail::parse_unsigned(std::string_view(c), ~std::uint64_t{0}, page.cursor)) {
    return shape_error("SCAN", r);
  }
  page.keys.reserve(r.elements[1].elements.size());
  for (auto& k : r.elements[1].elements) {
    if (k.type != reply_type::bulk_string) return shape_error("SCAN", r);
    if (k.discarded) {
      ++page.discarded;
      continue;
    }
    page.keys.push_back(std::move(k.str));
  }
  return page;
}

}  // namespace anklet::metrics::redis
