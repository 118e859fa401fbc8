// anklet::metrics::redis backoff: the one progression of waits after consecutive failures,
// shared by the client's reconnect window and the writer's retry pacing, so that both
// slow down alike when a Redis goes away.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace anklet::metrics::redis {

/// The wait after `failures` consecutive failures (1 for the first): `initial`, multiplied
/// by `multiplier` (at least 1) per further failure, capped at `cap`, then shortened by a
/// random share of up to `jitter` (clamped to 0..1) so that many hosts that lost the same
/// Redis do not come back in lockstep.
template <class Random>
[[nodiscard]] std::chrono::duration<double, std::milli> jittered_backoff(std::chrono::milliseconds initial,
                                                                        std::chrono::milliseconds cap, double multiplier,
                                                                        double jitter, std::uint64_t failures,
                                                                        Random& random) {
  double delay = static_cast<double>(initial.count());
  const auto max = static_cast<double>(cap.count());
  for (std::uint64_t i = 1; i < failures && delay < max; ++i) delay *= std::max(1.0, multiplier);
  delay = std::min(delay, max);
  delay *= 1.0 - std::clamp(jitter, 0.0, 1.0) * std::uniform_real_distribution<double>(0.0, 1.0)(random);
  return std::chrono::duration<double, std::milli>(delay);
}

}  // namespace anklet::metrics::redis
