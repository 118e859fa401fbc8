// anklet::metrics lock policies: what guards a store. Pick one by template argument.
#pragma once

#include <concepts>
#include <mutex>
#include <shared_mutex>

namespace anklet::metrics {

/// A lock policy is a default-constructible mutex with exclusive and shared locking.
/// Writers take lock(); snapshots take lock_shared().
template <class L>
concept lock_policy = std::default_initializable<L> && requires(L& l) {
  l.lock();
  l.unlock();
  l.lock_shared();
  l.unlock_shared();
};

/// Many concurrent readers, one writer (the default; Go's sync.RWMutex).
using shared_mutex_lock = std::shared_mutex;

/// One std::mutex for readers and writers alike: cheaper when reads are rare.
class mutex_lock {
 public:
  void lock() { m_.lock(); }
  void unlock() { m_.unlock(); }
  void lock_shared() { m_.lock(); }
  void unlock_shared() { m_.unlock(); }

 private:
  std::mutex m_;
};

/// No locking at all, for single-threaded tools and tests. Using a store with this
/// policy from more than one thread is a data race.
struct null_lock {
  constexpr void lock() noexcept {}
  constexpr void unlock() noexcept {}
  constexpr void lock_shared() noexcept {}
  constexpr void unlock_shared() noexcept {}
};

static_assert(lock_policy<shared_mutex_lock>);
static_assert(lock_policy<mutex_lock>);
static_assert(lock_policy<null_lock>);

}  // namespace anklet::metrics
