// anklet::metrics aggregator's published view: the last complete read of the fleet that
// the background reader of "anklet/metrics/fleet/aggregator.hpp" published, with the
// bodies of its answers, shared with every request until the next read replaces it. A
// failed read keeps the last good view (docs/reliability.md); each body of a read is
// rendered and gzip-compressed at most once, in the background for the kinds clients
// asked for before (docs/http.md).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "anklet/metrics/core/sole_owner.hpp"
#include "anklet/metrics/fleet/answer_bodies.hpp"
#include "anklet/metrics/fleet/read.hpp"
#include "anklet/metrics/http/response.hpp"

namespace anklet::metrics::detail {

/// One complete read and its answers, each rendered and compressed at most once: by the
/// background reader for the kinds clients asked for before the read, else by the first
/// request for it.
struct fleet_view {
  fleet read;
  std::chrono::steady_clock::time_point read_at;
  mutable std::mutex answers_mutex;
  // Under answers_mutex once the view is published.
  mutable std::array<cached_answer, body_kinds> answers;
};

/// The view requests are answered from, and which answers they asked for, so that the
/// background reader renders those with each read. Thread-safe; the bodies must outlive it.
class published_view {
 public:
  explicit published_view(const answer_bodies& bodies) noexcept : bodies_(bodies) {}

  /// The last published view; before the first, nullptr and `failure` set to why the last
  /// read failed (empty when none did).
  [[nodiscard]] std::shared_ptr<const fleet_view> latest(std::string& failure) const {
    std::lock_guard lock(mutex_);
    if (!view_) failure = last_failure_;
    return view_;
  }

  /// Calls f(const fleet&) with the last published read, under the view's lock; false
  /// before the first.
  template <class F>
  bool with_read(F&& f) const {
    std::lock_guard lock(mutex_);
    if (!view_) return false;
    f(view_->read);
    return true;
  }

  /// Views published so far.
  [[nodiscard]] std::uint64_t reads() const {
    std::lock_guard lock(mutex_);
    return reads_;
  }

  /// Keeps the reason of a failed read, shown by requests until a read is published.
  void fail(std::string failure) {
    std::lock_guard lock(mutex_);
    last_failure_ = std::move(failure);
  }

  /// The hosts' lines the answers clients asked for are put together from.
  [[nodiscard]] fleet_lines lines_wanted() const noexcept {
    const auto wanted = [this](body_kind k) {
      return body_wanted_[static_cast<std::size_t>(k)].load(std::memory_order_relaxed);
    };
    return {wanted(body_kind::json_v1) || wanted(body_kind::json_v2),
            {wanted(body_kind::prometheus), wanted(body_kind::openmetrics)}};
  }

  /// The body of `kind` in `v`: rendered by the background reader when a client asked for
  /// it before that read, else here, once per read.
  body_ptr body_of(const fleet_view& v, body_kind kind) {
    const auto slot = static_cast<std::size_t>(kind);
    body_wanted_[slot].store(true, std::memory_order_relaxed);
    std::lock_guard lock(v.answers_mutex);
    return bodies_.plain_of(v.answers[slot], v.read, kind);
  }

  /// The body of `kind` in `v` compressed (after body_of()): by the background reader when
  /// a client asked for it before that read, else here, once per read. Empty when too short
  /// to gain or when the compressor failed (then the plain body is served).
  gzip_body gzip_of(const fleet_view& v, body_kind kind) {
    const auto slot = static_cast<std::size_t>(kind);
    gzip_wanted_[slot].store(true, std::memory_order_relaxed);
    std::lock_guard lock(v.answers_mutex);
    return bodies_.gzip_of(v.answers[slot], kind);
  }

  /// The background reader's side: the views it reads into and publishes, and the buffers
  /// their bodies are rendered into. One thread uses it.
  class publisher {
   public:
    explicit publisher(published_view& to) noexcept : to_(to) {}

    /// A view to read into, without answers.
    std::shared_ptr<fleet_view> next() {
      // A view no request holds any more lends its storage (strings, plugins) to the next read.
      auto view = sole_owner(spare_) ? std::move(spare_) : std::make_shared<fleet_view>();
      spare_.reset();
      view->answers = {};  // a reused view still holds the answers of an older read
      return view;
    }

    /// The read published last, whose unchanged payloads the next read takes over.
    [[nodiscard]] const fleet* last_read() const noexcept { return published_ ? &published_->read : nullptr; }

    /// Renders in `next` (not published yet) the answers clients asked for, and compresses
    /// those they asked for in gzip.
    void answer_wanted(fleet_view& next) {
      render_wanted(next);
      compress_wanted(next);
    }

    void publish(std::shared_ptr<fleet_view> next) {
      spare_ = std::move(published_);
      published_ = next;
      std::lock_guard lock(to_.mutex_);
      to_.view_ = std::move(next);
      ++to_.reads_;
    }

   private:
    // Each body into `rendered_`'s buffer for its kind.
    void render_wanted(fleet_view& next) {
      for (std::size_t slot = 0; slot < body_kinds; ++slot) {
        if (!to_.body_wanted_[slot].load(std::memory_order_relaxed)) continue;
        to_.bodies_.render_into(rendered_[slot].renew(), next.read, static_cast<body_kind>(slot));
        next.answers[slot].plain = rendered_[slot].current;
      }
    }

    // Reuses the gzip form of the view being served when the body did not change: a fleet
    // read every 0.1 s mostly finds the same fleet.
    void compress_wanted(fleet_view& next) {
      const fleet_view* prev = published_.get();
      for (std::size_t slot = 0; slot < body_kinds; ++slot) {
        auto& answer = next.answers[slot];
        if (!to_.gzip_wanted_[slot].load(std::memory_order_relaxed) || !answer.plain) continue;
        cached_answer before;
        if (prev) {
          std::lock_guard lock(prev->answers_mutex);
          before = prev->answers[slot];
        }
        if (before.plain && before.gzip.bytes &&
            answer_bodies::view_of(*answer.plain) == answer_bodies::view_of(*before.plain)) {
          answer = std::move(before);
          continue;
        }
        to_.bodies_.gzip_of(answer, static_cast<body_kind>(slot));
      }
    }

    published_view& to_;
    std::shared_ptr<fleet_view> published_;  // the last view this publisher published
    std::shared_ptr<fleet_view> spare_;      // the one before, reused once no request holds it
    // Where each kind's body is rendered: into the buffer of the one before it once no
    // request and no view holds that any more (a 50 MB answer is not allocated, and its
    // pages faulted in, on every read).
    std::array<http::reusable_body, body_kinds> rendered_;
  };

 private:
  const answer_bodies& bodies_;
  std::array<std::atomic<bool>, body_kinds> body_wanted_{};
  std::array<std::atomic<bool>, body_kinds> gzip_wanted_{};
  mutable std::mutex mutex_;
  std::shared_ptr<const fleet_view> view_;
  std::string last_failure_;  // of the last failed read, shown until a read succeeds
  std::uint64_t reads_ = 0;
};

}  // namespace anklet::metrics::detail
