// anklet::metrics sole_owner: whether a shared_ptr is the only owner of its object, so that
// storage a reader no longer holds (a body, a view, a host's lines) is reused rather than
// allocated and faulted in again (docs/design.md).
#pragma once

#include <atomic>
#include <memory>

namespace anklet::metrics::detail {

// Whether `p` alone owns its object, which the caller may then change: nothing else can
// reach it. The fence pairs with the release by which its last other owner let go, so that
// owner's reads of the object happen before the caller's writes.
template <class T>
[[nodiscard]] bool sole_owner(const std::shared_ptr<T>& p) noexcept {
  if (!p || p.use_count() != 1) return false;
  std::atomic_thread_fence(std::memory_order_acquire);
  return true;
}

}  // namespace anklet::metrics::detail
