// anklet::metrics stop requests: a stop_source / stop_token pair with the interface of
// C++20's <stop_token>, which Apple's libc++ (and Zig's, used to build for macOS) does not
// ship. A default-constructed token is never stopped. See docs/design.md.
#pragma once

#include <atomic>
#include <memory>
#include <utility>

namespace anklet::metrics {

/// Tells whether a stop was requested of the source it came from; cheap to copy.
class stop_token {
 public:
  stop_token() = default;
  [[nodiscard]] bool stop_requested() const noexcept {
    return flag_ && flag_->load(std::memory_order_acquire);
  }

 private:
  friend class stop_source;
  explicit stop_token(std::shared_ptr<const std::atomic<bool>> flag) noexcept : flag_(std::move(flag)) {}
  std::shared_ptr<const std::atomic<bool>> flag_;
};

/// Owns a stop request; request_stop() is seen by every token it gave out. Thread-safe.
class stop_source {
 public:
  stop_source() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  [[nodiscard]] stop_token get_token() const noexcept { return stop_token(flag_); }
  /// True when this call made the request (false when it was already made).
  bool request_stop() noexcept { return !flag_->exchange(true, std::memory_order_acq_rel); }
  [[nodiscard]] bool stop_requested() const noexcept { return flag_->load(std::memory_order_acquire); }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

}  // namespace anklet::metrics
