// anklet::metrics::redis cluster slots: which of the 16384 hash slots a key belongs to, the
// slot map a cluster reports with CLUSTER SLOTS, and the MOVED/ASK redirections.
//
// Example:
//   #include <iostream>
//   #include "anklet/metrics/redis/client.hpp"
//   namespace redis = anklet::metrics::redis;
//   const std::uint16_t slot = redis::key_slot("anklet/metrics/acme/runner-1");
//   redis::client_options o;
//   o.target = redis::parse_url("redis://127.0.0.1:7000").value();
//   redis::client node(o);
//   if (auto reply = node.command("CLUSTER", "SLOTS")) {
//     auto map = redis::parse_cluster_slots(*reply, "127.0.0.1");   // result<slot_map>
//     if (map)
//       if (const auto* master = map->master_of(slot)) std::cout << master->address() << '\n';
//   }
//
// Keys hash with CRC16 (XMODEM) modulo 16384; a key holding a hash tag (`{...}` with at
// least one byte inside, the first '{' and the first '}' after it) hashes only the tag, so
// `{user1000}.following` and `{user1000}.followers` share a slot. See docs/redis-cluster.md.
//
// The CLUSTER SLOTS reply is untrusted: ranges, nodes and host names are bounded by
// slot_map_limits, and any reply that is not a well-formed map is an errc::protocol or
// errc::limit error. Slots no range covers are holes: master_of() returns nullptr there.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anklet/metrics/redis/error.hpp"
#include "anklet/metrics/redis/resp.hpp"

namespace anklet::metrics::redis {

/// Hash slots of a Redis Cluster.
inline constexpr std::uint16_t cluster_slots = 16384;

namespace detail {

constexpr std::array<std::uint16_t, 256> make_crc16_table() noexcept {
  std::array<std::uint16_t, 256> t{};
  for (unsigned i = 0; i < 256; ++i) {
    unsigned crc = i << 8;
    for (int b = 0; b < 8; ++b) crc = (crc & 0x8000u) ? ((crc << 1) ^ 0x1021u) : (crc << 1);
    t[i] = static_cast<std::uint16_t>(crc & 0xFFFFu);
  }
  return t;
}

inline constexpr std::array<std::uint16_t, 256> crc16_table = make_crc16_table();

}  // namespace detail

/// CRC16-CCITT as Redis Cluster uses it (XMODEM: polynomial 0x1021, initial 0, no reflection).
[[nodiscard]] constexpr std::uint16_t crc16(std::string_view data) noexcept {
  unsigned crc = 0;
  for (char c : data) {
    const auto byte = static_cast<unsigned char>(c);
    crc = ((crc << 8) ^ detail::crc16_table[((crc >> 8) ^ byte) & 0xFFu]) & 0xFFFFu;
  }
  return static_cast<std::uint16_t>(crc);
}

/// The part of a key that is hashed: the hash tag when there is a non-empty one, else the key.
[[nodiscard]] constexpr std::string_view hash_tag(std::string_view key) noexcept {
  const auto open = key.find('{');
  if (open == std::string_view::npos) return key;
  const auto close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

/// The hash slot of a key.
[[nodiscard]] constexpr std::uint16_t key_slot(std::string_view key) noexcept {
  return static_cast<std::uint16_t>(crc16(hash_tag(key)) & (cluster_slots - 1));
}

/// A cluster node as the cluster names it.
struct cluster_node {
  std::string host;
  std::uint16_t port = 0;
  std::string id;  ///< the node ID, when the reply carried one

  /// "host:port" ("[v6]:port"), the key of a node's connection.
  [[nodiscard]] std::string address() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
  friend bool operator==(const cluster_node& a, const cluster_node& b) noexcept {
    return a.host == b.host && a.port == b.port;
  }
};

/// Bounds on a CLUSTER SLOTS reply. Redis never sends more ranges than slots.
struct slot_map_limits {
  std::size_t max_ranges = cluster_slots;
  /// Distinct masters; far more than any real cluster (Redis recommends up to 1000 nodes).
  std::size_t max_masters = 1024;
  std::size_t max_host_length = 255;
  std::size_t max_id_length = 64;
};

/// Which master serves each slot.
class slot_map {
 public:
  static constexpr std::uint16_t no_node = 0xFFFF;

  /// Masters a map can name: slot owners are 16-bit, with two values reserved.
  static constexpr std::size_t max_masters_supported = 0xFFFD;

  slot_map() { owner_.fill(no_node); }

  /// The master of `slot`, or nullptr for a hole (or a slot out of range).
  [[nodiscard]] const cluster_node* master_of(std::uint16_t slot) const noexcept {
    if (slot >= cluster_slots || owner_[slot] == no_node) return nullptr;
    return &masters_[owner_[slot]];
  }
  /// Every master that serves at least one slot, each once.
  [[nodiscard]] const std::vector<cluster_node>& masters() const noexcept { return masters_; }
  /// Slots no master serves.
  [[nodiscard]] std::size_t holes() const noexcept {
    std::size_t n = 0;
    for (auto o : owner_) n += o == no_node ? 1 : 0;
    return n;
  }
  [[nodiscard]] bool empty() const noexcept { return masters_.empty(); }

  /// Makes `node` the master of `slot` (a MOVED redirection). Returns false when that would
  /// exceed `max_masters`, leaving the map as it was.
  bool assign(std::uint16_t slot, const cluster_node& node, std::size_t max_masters = slot_map_limits{}.max_masters) {
    if (slot >= cluster_slots) return false;
    std::size_t i = 0;
    while (i < masters_.size() && !(masters_[i] == node)) ++i;
    if (i == masters_.size()) {
      if (masters_.size() >= std::min(max_masters, max_masters_supported)) return false;
      masters_.push_back(node);
    }
    owner_[slot] = static_cast<std::uint16_t>(i);
    drop_unused();
    return true;
  }

 private:
  friend result<slot_map> parse_cluster_slots(const reply&, std::string_view, const slot_map_limits&);

  // After a reassignment a master may own nothing any more; masters() lists only owners.
  void drop_unused() {
    std::vector<std::size_t> count(masters_.size(), 0);
    for (auto o : owner_) {
      if (o != no_node) ++count[o];
    }
    std::vector<std::uint16_t> remap(masters_.size(), no_node);
    std::vector<cluster_node> kept;
    for (std::size_t i = 0; i < masters_.size(); ++i) {
      if (count[i] == 0) continue;
      remap[i] = static_cast<std::uint16_t>(kept.size());
      kept.push_back(std::move(masters_[i]));
    }
    if (kept.size() == masters_.size()) {
      masters_ = std::move(kept);
      return;
    }
    for (auto& o : owner_) {
      if (o != no_node) o = remap[o];
    }
    masters_ = std::move(kept);
  }

  std::array<std::uint16_t, cluster_slots> owner_{};
  std::vector<cluster_node> masters_;
};

namespace detail {

inline redis::error slots_error(std::string_view what) {
  return {errc::protocol, "CLUSTER SLOTS: " + std::string(what)};
}

// Host names and IP literals only: a host goes into getaddrinfo and into log lines.
inline bool valid_node_host(std::string_view h) noexcept {
  for (char c : h) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_' || c == ':';
    if (!ok) return false;
  }
  return true;
}

inline bool slot_number(const reply& r, std::int64_t& out) noexcept {
  if (r.type != reply_type::integer || r.integer < 0 || r.integer >= cluster_slots) return false;
  out = r.integer;
  return true;
}

}  // namespace detail

/// Builds the slot map from a CLUSTER SLOTS reply: an array of [first, last, master,
/// replicas...] with each node as [host, port, id, ...]. A nil or empty host means the
/// host the reply came from (`origin_host`, as Redis documents); "?" (unknown endpoint)
/// leaves the range a hole. Overlapping ranges are refused.
[[nodiscard]] inline result<slot_map> parse_cluster_slots(const reply& r, std::string_view origin_host,
                                                          const slot_map_limits& limits = {}) {
  using detail::slots_error;
  if (r.is_error()) return redis::error{errc::server, "CLUSTER SLOTS: " + r.str};
  if (!r.is_array()) return slots_error("expected an array, got " + std::string(to_string(r.type)));
  if (r.elements.size() > limits.max_ranges) {
    return redis::error{errc::limit, "CLUSTER SLOTS: more than " + std::to_string(limits.max_ranges) + " ranges"};
  }
  slot_map map;
  for (std::size_t i = 0; i < r.elements.size(); ++i) {
    const reply& range = r.elements[i];
    const std::string at = " (range " + std::to_string(i) + ")";
    if (!range.is_array() || range.elements.size() < 3) return slots_error("a range is not [first, last, master...]" + at);
    std::int64_t first = 0;
    std::int64_t last = 0;
    if (!detail::slot_number(range.elements[0], first) || !detail::slot_number(range.elements[1], last) ||
        first > last) {
      return slots_error("invalid slot numbers" + at);
    }
    const reply& node = range.elements[2];
    if (!node.is_array() || node.elements.size() < 2) return slots_error("a master is not [host, port, ...]" + at);
    const reply& host = node.elements[0];
    const reply& port = node.elements[1];
    if (!(host.is_nil() || host.is_string())) return slots_error("the host is not a string" + at);
    if (host.str.size() > limits.max_host_length) {
      return redis::error{errc::limit, "CLUSTER SLOTS: a host name longer than " +
                                           std::to_string(limits.max_host_length) + " bytes" + at};
    }
    if (port.type != reply_type::integer || port.integer < 1 || port.integer > 65535) {
      return slots_error("the port is not a number from 1 to 65535" + at);
    }
    cluster_node n;
    if (node.elements.size() >= 3 && node.elements[2].is_string()) {
      if (node.elements[2].str.size() > limits.max_id_length) return slots_error("a node ID too long" + at);
      n.id = node.elements[2].str;
    }
    for (std::int64_t s = first; s <= last; ++s) {
      if (map.owner_[static_cast<std::size_t>(s)] != slot_map::no_node) {
        return slots_error("slot " + std::to_string(s) + " is in two ranges" + at);
      }
    }
    if (host.str == "?") {
      // The node's endpoint is unknown: its slots stay holes until a later map names it.
      for (std::int64_t s = first; s <= last; ++s) map.owner_[static_cast<std::size_t>(s)] = slot_map::no_node - 1;
      continue;
    }
    n.host = host.str.empty() ? std::string(origin_host) : host.str;
    if (n.host.empty() || !detail::valid_node_host(n.host)) return slots_error("invalid host name" + at);
    n.port = static_cast<std::uint16_t>(port.integer);
    std::size_t idx = 0;
    while (idx < map.masters_.size() && !(map.masters_[idx] == n)) ++idx;
    if (idx == map.masters_.size()) {
      if (map.masters_.size() >= std::min(limits.max_masters, slot_map::max_masters_supported)) {
        return redis::error{errc::limit,
                            "CLUSTER SLOTS: more than " + std::to_string(limits.max_masters) + " masters"};
      }
      map.masters_.push_back(std::move(n));
    }
    for (std::int64_t s = first; s <= last; ++s) map.owner_[static_cast<std::size_t>(s)] = static_cast<std::uint16_t>(idx);
  }
  // Ranges of unknown endpoints were marked to catch overlaps; they are holes.
  for (auto& o : map.owner_) {
    if (o == slot_map::no_node - 1) o = slot_map::no_node;
  }
  return map;
}

/// A MOVED or ASK error reply, taken apart.
struct redirect {
  enum class kind : std::uint8_t { moved, ask };
  kind type = kind::moved;
  std::uint16_t slot = 0;
  cluster_node node;
};

/// Parses "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>" (the text of an error
/// reply). An empty host means the host the reply came from (`origin_host`). Anything
/// else, including a malformed redirection, is nullopt.
[[nodiscard]] inline std::optional<redirect> parse_redirect(std::string_view err, std::string_view origin_host,
                                                            std::size_t max_host_length = slot_map_limits{}.max_host_length) {
  redirect out;
  if (err.substr(0, 6) == "MOVED ") {
    err.remove_prefix(6);
  } else if (err.substr(0, 4) == "ASK ") {
    out.type = redirect::kind::ask;
    err.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = err.find(' ');
  if (space == std::string_view::npos || space == 0 || space > 5) return std::nullopt;
  unsigned slot = 0;
  for (char c : err.substr(0, space)) {
    if (c < '0' || c > '9') return std::nullopt;
    slot = slot * 10 + static_cast<unsigned>(c - '0');
  }
  if (slot >= cluster_slots) return std::nullopt;
  out.slot = static_cast<std::uint16_t>(slot);
  std::string_view endpoint = err.substr(space + 1);
  const auto colon = endpoint.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = endpoint.substr(0, colon);
  std::string_view port = endpoint.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port.empty() || port.size() > 5) return std::nullopt;
  unsigned p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    p = p * 10 + static_cast<unsigned>(c - '0');
  }
  if (p == 0 || p > 65535) return std::nullopt;
  if (host.size() > max_host_length || !detail::valid_node_host(host)) return std::nullopt;
  out.node.host = host.empty() ? std::string(origin_host) : std::string(host);
  if (out.node.host.empty() || out.node.host == "?") return std::nullopt;
  out.node.port = static_cast<std::uint16_t>(p);
  return out;
}

}  // namespace anklet::metrics::redis
