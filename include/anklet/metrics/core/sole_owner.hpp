// anklet::metrics sole_owner: whether a shared_ptr is the only owner of its object, so that
// storage a reader no longer holds (a body, a view, a host's lines) is reused rather than
// allocated and faulted in again (docs/design.md).
#pragma once

#include <atomic>
#include <memory>

// ThreadSanitizer does not model fences, and GCC warns about one under -fsanitize=thread.
#if defined(__SANITIZE_THREAD__)
#define ANKLET_METRICS_DETAIL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ANKLET_METRICS_DETAIL_TSAN 1
#endif
#endif

namespace anklet::metrics::detail {

// Whether `p` alone owns its object, which the caller may then change: nothing else can
// reach it. The fence pairs with the release by which its last other owner let go, so that
// owner's reads of the object happen before the caller's writes (left out under
// ThreadSanitizer, above).
template <class T>
[[nodiscard]] bool sole_owner(const std::shared_ptr<T>& p) noexcept {
  if (!p || p.use_count() != 1) return false;
#if !defined(ANKLET_METRICS_DETAIL_TSAN)
  std::atomic_thread_fence(std::memory_order_acquire);
#endif
  return true;
}

}  // namespace anklet::metrics::detail
