// anklet::metrics::redis keys: where a process's metrics live in Redis, the one place that
// names them for the writer (which SETs them) and the fleet aggregator (which SCANs them).
// The rule is Go Anklet's, so that both read each other's keys.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "anklet/metrics/core/model.hpp"

namespace anklet::metrics::redis {

/// Every metrics key starts with this.
inline constexpr std::string_view metrics_key_prefix = "anklet/metrics/";

/// The SCAN MATCH pattern of every metrics key: the prefix followed by anything.
inline constexpr std::string_view metrics_key_pattern = "anklet/metrics/*";

static_assert(metrics_key_pattern.substr(0, metrics_key_prefix.size()) == metrics_key_prefix &&
              metrics_key_pattern.size() == metrics_key_prefix.size() + 1 && metrics_key_pattern.back() == '*');

/// How long Go Anklet keeps a host's metrics: 7 days.
inline constexpr std::chrono::seconds default_metrics_ttl{604800};

/// The key Go Anklet uses: `anklet/metrics/{owner}/{name}`, or `anklet/metrics/{name}` when the
/// owner is empty.
[[nodiscard]] inline std::string metrics_key(std::string_view owner, std::string_view name) {
  std::string key;
  key.reserve(metrics_key_prefix.size() + owner.size() + 1 + name.size());
  key += metrics_key_prefix;
  if (!owner.empty()) {
    key += owner;
    key += '/';
  }
  key += name;
  return key;
}

/// Go Anklet's key for a snapshot: the one of its first registered plugin; empty when it has
/// no plugin. Call it once registration is complete, or name the key from your own
/// configuration: with threads registering at once, "first" is whoever won the race.
[[nodiscard]] inline std::string metrics_key(const metrics_snapshot& s) {
  if (s.plugins.empty()) return {};
  return metrics_key(s.plugins.front().owner_name, s.plugins.front().name);
}

}  // namespace anklet::metrics::redis
