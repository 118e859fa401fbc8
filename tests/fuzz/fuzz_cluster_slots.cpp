// libFuzzer target for the CLUSTER SLOTS parser and the MOVED/ASK parser.
// Input: RESP bytes as a node would send them. Oracles: no crash or sanitizer report; an
// accepted map names only masters it holds, each with a host and a port; the map written
// back as a CLUSTER SLOTS reply parses to the same owners; an accepted redirection has a
// slot in range and a usable endpoint.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "anklet/metrics/redis/slots.hpp"

using namespace anklet::metrics::redis;

namespace {

void bulk(std::string& out, std::string_view s) {
  out += '$' + std::to_string(s.size()) + "\r\n";
  out.append(s);
  out += "\r\n";
}

// One range per run of slots with the same master.
std::string encode(const slot_map& m) {
  std::string body;
  std::size_t ranges = 0;
  for (unsigned s = 0; s < cluster_slots;) {
    const cluster_node* n = m.master_of(static_cast<std::uint16_t>(s));
    unsigned e = s;
    while (e + 1 < cluster_slots && m.master_of(static_cast<std::uint16_t>(e + 1)) == n) ++e;
    if (n != nullptr) {
      body += "*3\r\n:" + std::to_string(s) + "\r\n:" + std::to_string(e) + "\r\n*3\r\n";
      bulk(body, n->host);
      body += ':' + std::to_string(n->port) + "\r\n";
      bulk(body, n->id);
      ++ranges;
    }
    s = e + 1;
  }
  return '*' + std::to_string(ranges) + "\r\n" + body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto rd = parse_redirect(in, "origin")) {
    if (rd->slot >= cluster_slots || rd->node.port == 0 || rd->node.host.empty()) __builtin_trap();
  }
  reply_limits rl;
  rl.max_reply_bytes = 1 << 20;
  rl.max_depth = 4;
  reply_parser p(rl);
  p.feed(in);
  reply r;
  if (p.next(r) != reply_parser::status::complete) return 0;
  slot_map_limits limits;
  limits.max_masters = 8;
  auto map = parse_cluster_slots(r, "origin", limits);
  if (!map) {
    if (map.error().message.empty()) __builtin_trap();
    return 0;
  }
  if (map->masters().size() > limits.max_masters) __builtin_trap();
  std::size_t holes = 0;
  for (unsigned s = 0; s < cluster_slots; ++s) {
    const cluster_node* n = map->master_of(static_cast<std::uint16_t>(s));
    if (n == nullptr) {
      ++holes;
      continue;
    }
    if (n < map->masters().data() || n >= map->masters().data() + map->masters().size()) __builtin_trap();
    if (n->host.empty() || n->port == 0) __builtin_trap();
  }
  if (holes != map->holes()) __builtin_trap();
  reply_parser again;
  again.feed(encode(*map));
  reply r2;
  if (again.next(r2) != reply_parser::status::complete) __builtin_trap();
  auto map2 = parse_cluster_slots(r2, "other", limits);
  if (!map2) __builtin_trap();
  for (unsigned s = 0; s < cluster_slots; ++s) {
    const cluster_node* a = map->master_of(static_cast<std::uint16_t>(s));
    const cluster_node* b = map2->master_of(static_cast<std::uint16_t>(s));
    if ((a == nullptr) != (b == nullptr)) __builtin_trap();
    if (a != nullptr && !(*a == *b && a->id == b->id)) __builtin_trap();
  }
  return 0;
}
