// Waits for a condition that another thread (a server, a background reader) makes true.
#pragma once

#include <chrono>
#include <thread>

namespace anklet_test {

/// Polls `pred` every 10 ms for up to `limit`, then once more; the limit only guards
/// against a hang, so it is generous (sanitizer builds are slow).
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace anklet_test
