// anklet::metrics::redis cluster client: Redis Cluster over the RESP2 client of client.hpp.
//
// Example:
//   #include <iostream>
//   namespace redis = anklet::metrics::redis;
//   redis::cluster_options o;
//   o.node.target = redis::parse_url("redis://10.0.0.5:7000").value();   // any node: a seed
//   redis::cluster_client c(o);
//   const std::string json = "{}";   // the payload, from format_json
//   if (auto r = c.set("anklet/metrics/acme/runner-1", json, std::chrono::hours(24 * 7)); !r)
//     std::cerr << r.error().to_string() << '\n';
//
// The slot map comes from CLUSTER SLOTS of any node it knows (the seeds first time, then the
// masters of the map). A command for a key goes to its slot's master. MOVED moves that slot
// in the map, retries there and has the whole map read again before the next command; ASK
// sends the command once to the named node, after ASKING. A lost connection (the node died
// or failed over) also has the map read again, and the command is retried once when the
// new map names another master for the slot. Redirections per command are bounded by
// max_redirects; beyond that, or for a slot no master serves, the command fails with
// errc::cluster. See docs/redis-cluster.md.
//
// Each node gets one connection, a redis::client opened on first use with the timeouts,
// backoff and reply limits of `node`, and its user and password. Redis Cluster has only
// database 0.
//
// Thread safety: none. One cluster_client per thread, or a lock around it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/error.hpp"
#include "anklet/metrics/redis/replies.hpp"
#include "anklet/metrics/redis/resp.hpp"
#include "anklet/metrics/redis/slots.hpp"
#include "anklet/metrics/redis/url.hpp"

namespace anklet::metrics::redis {

/// A cluster: seed nodes, the options of every node's connection, and routing bounds.
struct cluster_options {
  /// The first seed (target) and, for every node, timeouts, backoff, limits, user and password.
  client_options node;
  /// More seeds, tried after `node.target` when no known node answers CLUSTER SLOTS.
  std::vector<connection_target> seeds;
  /// MOVED and ASK redirections followed for one command.
  unsigned max_redirects = 5;
  slot_map_limits slot_limits;
};

class cluster_client {
 public:
  explicit cluster_client(cluster_options options = {}) : opt_(std::move(options)) {
    auto check = [](const connection_target& t) {
      if (!t.unix_path.empty()) throw std::invalid_argument("a Redis Cluster node is reached over TCP, not a Unix socket");
      if (t.db != 0) throw std::invalid_argument("Redis Cluster has only database 0");
    };
    check(opt_.node.target);
    for (const auto& s : opt_.seeds) check(s);
  }
  cluster_client(const cluster_client&) = delete;
  cluster_client& operator=(const cluster_client&) = delete;
  cluster_client(cluster_client&&) noexcept = default;
  cluster_client& operator=(cluster_client&&) noexcept = default;
  ~cluster_client() = default;

  [[nodiscard]] const cluster_options& options() const noexcept { return opt_; }
  /// The slot map as last read or corrected by MOVED; empty before the first command.
  [[nodiscard]] const slot_map& slots() const noexcept { return slots_; }
  /// Times the map was read with CLUSTER SLOTS.
  [[nodiscard]] std::uint64_t refreshes() const noexcept { return refreshes_; }
  /// MOVED and ASK redirections followed so far.
  [[nodiscard]] std::uint64_t redirections() const noexcept { return redirections_; }
  /// Node connections currently held (open or not).
  [[nodiscard]] std::size_t node_count() const noexcept { return nodes_.size(); }

  /// Reads the slot map now, from the first node that answers: the map's masters, then the
  /// seeds. On failure the previous map is kept.
  result<void> refresh() {
    std::vector<cluster_node> order = slots_.masters();
    auto add = [&](const connection_target& t) {
      cluster_node n{t.host, t.port, {}};
      for (const auto& o : order) {
        if (o == n) return;
      }
      order.push_back(std::move(n));
    };
    add(opt_.node.target);
    for (const auto& s : opt_.seeds) add(s);
    std::string errors;
    for (const auto& n : order) {
      client& c = connection(n);
      auto r = c.command("CLUSTER", "SLOTS");
      if (!r) {
        if (!errors.empty()) errors += "; ";
        errors += n.address() + ": " + r.error().to_string();
        continue;
      }
      auto map = parse_cluster_slots(*r, n.host, opt_.slot_limits);
      if (!map) {
        // A node that sends a malformed map is not to be talked to: its connection goes.
        c.disconnect();
        if (!errors.empty()) errors += "; ";
        errors += n.address() + ": " + map.error().to_string();
        continue;
      }
      if (map->empty()) {
        if (!errors.empty()) errors += "; ";
        errors += n.address() + ": no slot is served";
        continue;
      }
      slots_ = std::move(*map);
      stale_ = false;
      ++refreshes_;
      forget_unused_nodes();
      return {};
    }
    stale_ = true;
    return redis::error{errc::cluster, "no node gave a slot map (" + errors + ")"};
  }

  /// The masters serving slots, reading the map first when it is stale or missing.
  result<std::vector<cluster_node>> masters() {
    if (auto r = ensure_map(); !r) return r.error();
    return slots_.masters();
  }

  /// The connection of `node` (made on first use, not yet connected). Valid until the next
  /// refresh() or routed command, which may drop nodes that left the map.
  client& connection(const cluster_node& node) {
    auto& slot = nodes_[node.address()];
    if (!slot) {
      client_options o = opt_.node;
      o.target.host = node.host;
      o.target.port = node.port;
      o.target.unix_path.clear();
      o.target.db = 0;
      slot = std::make_unique<client>(std::move(o));
    }
    return *slot;
  }

  /// Marks the map stale: the next routed command reads it again first.
  void invalidate() noexcept { stale_ = true; }

  /// Sends a command whose slot is that of `key` (the key must also be among the arguments)
  /// to the slot's master, following redirections; see the file comment. An error reply
  /// other than a redirection becomes errc::server.
  template <command_arg... Args>
  result<reply> command_for_key(std::string_view key, const Args&... args) {
    if (auto m = ensure_map(); !m) return m.error();
    // Redirections to nodes outside the map add connections; a cluster whose map cannot be
    // read again must not grow them without bound.
    if (nodes_.size() > slots_.masters().size() + opt_.seeds.size() + 1 + opt_.max_redirects) forget_unused_nodes();
    const std::uint16_t slot = key_slot(key);
    std::optional<cluster_node> ask;
    bool refreshed = false;
    std::string last;
    for (unsigned attempt = 0; attempt <= opt_.max_redirects; ++attempt) {
      cluster_node target;
      const bool use_asking = ask.has_value();
      if (ask) {
        target = std::move(*ask);
        ask.reset();
      } else {
        const cluster_node* m = slots_.master_of(slot);
        if (m == nullptr && !refreshed) {
          refreshed = true;
          static_cast<void>(refresh());
          m = slots_.master_of(slot);
        }
        if (m == nullptr) {
          return redis::error{errc::cluster, "no master serves slot " + std::to_string(slot) + " (of key " +
                                                 std::string(key.substr(0, 200)) + ")"};
        }
        target = *m;
      }
      client& c = connection(target);
      last_node_ = target.address();
      result<reply> r = use_asking ? asking(c, args...) : c.command(args...);
      if (r) return r;
      const redis::error& e = r.error();
      if (e.code == errc::server) {
        auto rd = parse_redirect(e.message, target.host, opt_.slot_limits.max_host_length);
        if (!rd) return r;  // an ordinary error reply (CLUSTERDOWN and TRYAGAIN included)
        ++redirections_;
        last = e.message;
        if (rd->type == redirect::kind::moved) {
          if (!slots_.assign(rd->slot, rd->node, opt_.slot_limits.max_masters)) {
            return redis::error{errc::limit, "MOVED to more masters than max_masters: " + e.message};
          }
          stale_ = true;
        } else {
          ask = std::move(rd->node);
        }
        continue;
      }
      // The connection failed: the node may be gone, its slots taken over by a replica.
      stale_ = true;
      if (refreshed) return r;
      refreshed = true;
      if (!refresh()) return r;
      const cluster_node* m = slots_.master_of(slot);
      if (m == nullptr || *m == target) return r;
    }
    return redis::error{errc::cluster, "more than " + std::to_string(opt_.max_redirects) +
                                           " redirections for key " + std::string(key.substr(0, 200)) +
                                           " (last: " + last + ")"};
  }

  /// SET key value, with EX ttl when ttl > 0, on the key's master.
  result<void> set(std::string_view key, std::string_view value, std::chrono::seconds ttl = std::chrono::seconds{0}) {
    auto r = ttl.count() > 0 ? command_for_key(key, "SET", key, value, "EX", static_cast<long long>(ttl.count()))
                             : command_for_key(key, "SET", key, value);
    if (!r) return r.error();
    if (r->type != reply_type::simple_string || r->str != "OK") return shape_error("SET", *r);
    return {};
  }

  /// GET key on the key's master: the value, or nullopt when the key does not exist.
  result<std::optional<std::string>> get(std::string_view key) {
    auto r = command_for_key(key, "GET", key);
    if (!r) return r.error();
    if (r->is_nil()) return std::optional<std::string>{};
    if (r->type != reply_type::bulk_string) return shape_error("GET", *r);
    return std::optional<std::string>{std::move(r->str)};
  }

  /// DEL key on the key's master: whether it existed.
  result<std::int64_t> del(std::string_view key) {
    auto r = command_for_key(key, "DEL", key);
    if (!r) return r.error();
    if (r->type != reply_type::integer) return shape_error("DEL", *r);
    return r->integer;
  }

  /// The reconnect window still open on the node the last routed command went to last
  /// (other nodes' windows do not hold back a command their slots no longer need).
  [[nodiscard]] std::chrono::milliseconds backoff_remaining() const {
    const auto it = nodes_.find(last_node_);
    return it == nodes_.end() ? std::chrono::milliseconds{0} : it->second->backoff_remaining();
  }

 private:
  result<void> ensure_map() {
    if (!stale_ && !slots_.empty()) return {};
    auto r = refresh();
    if (!r && slots_.empty()) return r;
    return {};  // a stale map is better than none: MOVED corrects it
  }

  // ASKING and the command in one write: ASKING holds for the next command only.
  template <command_arg... Args>
  static result<reply> asking(client& c, const Args&... args) {
    pipeline p;
    p.add("ASKING");
    p.add(args...);
    auto rs = c.execute(p);
    if (!rs) return rs.error();
    auto& v = *rs;
    if (v.size() != 2) return redis::error{errc::protocol, "ASKING: unexpected number of replies"};
    if (v[0].is_error()) return redis::error{errc::server, "ASKING: " + v[0].str};
    if (v[1].is_error()) return redis::error{errc::server, std::move(v[1].str)};
    return std::move(v[1]);
  }

  // Connections of nodes that are neither masters nor seeds any more (a failed-over master,
  // an ASK target) go, so that redirections cannot grow the set without bound.
  void forget_unused_nodes() {
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      bool keep = false;
      for (const auto& m : slots_.masters()) keep = keep || m.address() == it->first;
      keep = keep || cluster_node{opt_.node.target.host, opt_.node.target.port, {}}.address() == it->first;
      for (const auto& s : opt_.seeds) keep = keep || cluster_node{s.host, s.port, {}}.address() == it->first;
      it = keep ? std::next(it) : nodes_.erase(it);
    }
  }

  cluster_options opt_;
  slot_map slots_;
  bool stale_ = true;
  std::uint64_t refreshes_ = 0;
  std::uint64_t redirections_ = 0;
  std::map<std::string, std::unique_ptr<client>> nodes_;
  std::string last_node_;
};

}  // namespace anklet::metrics::redis
