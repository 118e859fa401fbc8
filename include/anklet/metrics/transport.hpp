// anklet::metrics transports and the exporter: where published snapshots go.
//
// A transport receives whole metrics_snapshot values (the HTTP writer keeps the latest for
// scrapers, the Redis writer sends it as JSON). An exporter, composed at compile time from
// a store, a host source and any number of transports, refreshes the host figures, takes
// one snapshot and hands that same snapshot to each transport in turn. The exporter starts
// no thread: call publish() when you want to publish (the Redis writer runs its own timer).
//
// This header needs only the standard library (no {fmt}, no sockets).
#pragma once

#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/host/source.hpp"

namespace anklet::metrics {

/// A transport takes published snapshots: `t.publish(snapshot)` with a
/// `const metrics_snapshot&`, returning void. The snapshot is only borrowed for the call;
/// a transport that keeps it must copy it. A transport reports a failure by throwing;
/// the exporter catches it, carries on with the other transports and reports it in its
/// publish_result. Transports that retry on their own (Redis) should not throw for an
/// outage they will recover from; they expose their health through their own API.
/// A transport may also offer `name()` (convertible to std::string_view), used in reports.
template <class T>
concept transport = requires(T& t, const metrics_snapshot& s) {
  { t.publish(s) } -> std::same_as<void>;
};

/// What an exporter reads: a store that takes host figures and gives snapshots.
template <class S>
concept snapshot_store = host_metrics_target<S> && requires(const S& s, metrics_snapshot& out) {
  s.snapshot_into(out);
};

/// A transport that keeps every snapshot it received, for test harnesses. All members are
/// thread-safe; wait_for_count lets a test wait for a publish that happens on another thread.
class memory_transport {
 public:
  memory_transport() = default;
  memory_transport(const memory_transport&) = delete;
  memory_transport& operator=(const memory_transport&) = delete;

  void publish(const metrics_snapshot& s) {
    {
      std::lock_guard lock(mutex_);
      received_.push_back(s);
    }
    changed_.notify_all();
  }

  [[nodiscard]] std::string_view name() const noexcept { return "memory"; }

  /// How many snapshots were received since construction or the last clear().
  [[nodiscard]] std::size_t count() const {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  /// The latest snapshot, if any.
  [[nodiscard]] std::optional<metrics_snapshot> last() const {
    std::lock_guard lock(mutex_);
    if (received_.empty()) return std::nullopt;
    return received_.back();
  }
  /// A copy of every snapshot received, oldest first.
  [[nodiscard]] std::vector<metrics_snapshot> all() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  /// Forgets everything received.
  void clear() {
    std::lock_guard lock(mutex_);
    received_.clear();
  }
  /// Waits until at least `n` snapshots are held or `timeout` passed; returns whether
  /// they are.
  template <class Rep, class Period>
  [[nodiscard]] bool wait_for_count(std::size_t n, std::chrono::duration<Rep, Period> timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<metrics_snapshot> received_;
};

/// Adapts any callable taking `const metrics_snapshot&` into a transport.
template <class F>
  requires std::invocable<F&, const metrics_snapshot&>
class function_transport {
 public:
  explicit function_transport(F f) : f_(std::move(f)) {}
  void publish(const metrics_snapshot& s) { static_cast<void>(f_(s)); }

 private:
  F f_;
};

static_assert(transport<memory_transport>);

/// One transport that threw during a publish.
struct transport_failure {
  std::size_t index = 0;  ///< position among the exporter's transports, from 0
  std::string name;       ///< the transport's name() when it has one, else "transport #index"
  std::string message;    ///< what() of the exception
};

/// The outcome of one exporter::publish().
struct publish_result {
  host_sample host;                         ///< the host sample taken (its errors, if any)
  std::size_t delivered = 0;                ///< transports that returned normally
  std::vector<transport_failure> failures;  ///< transports that threw, in order

  /// True when the host sample was complete and every transport took the snapshot.
  [[nodiscard]] bool ok() const noexcept { return host.ok() && failures.empty(); }
};

namespace detail {
template <snapshot_store S>
constexpr bool models_snapshot_store() noexcept { return true; }
template <host_metrics_source S>
constexpr bool models_host_metrics_source() noexcept { return true; }
template <transport T>
constexpr bool models_transport() noexcept { return true; }
}  // namespace detail

/// Publishes one store through a host source to a fixed list of transports. Holds
/// references only: the store, source and transports must outlive it. publish() may be
/// called from several threads at once if the store, source and transports allow it (the
/// library's own ones do); each call takes its own snapshot.
///
/// Example:
///   #include "anklet/metrics/store.hpp"
///   namespace am = anklet::metrics;
///   am::store store;
///   am::no_host_source host_source;
///   am::memory_transport memory;
///   am::exporter ex{store, host_source, memory};   // more transports: the HTTP server, a Redis writer
///   auto result = ex.publish();
///   (void)result;
template <class Store, class Source, class... Transports>
class exporter {
  // Checked here rather than in the template head: a failed concept in a class template's
  // head (or a fold over a pack) only says "constraints not satisfied" under CTAD; a call
  // to a constrained function names the type, the concept and the missing expression.
  static_assert(detail::models_snapshot_store<Store>(), "the exporter's store must model snapshot_store");
  static_assert(detail::models_host_metrics_source<Source>(), "the exporter's host source must model host_metrics_source");
  static_assert((detail::models_transport<Transports>() && ...), "every transport of an exporter must model transport");

 public:
  exporter(Store& metrics_store, Source& source, Transports&... transports) noexcept
      : store_(metrics_store), source_(source), transports_(transports...) {}

  /// Refreshes the host figures (sampling with no store lock held), takes one snapshot
  /// and hands it to every transport in order. A transport that throws does not stop
  /// the others; it is reported in the result. Throws only std::bad_alloc.
  publish_result publish() {
    publish_result r;
    r.host = refresh_host_metrics(store_, source_);
    metrics_snapshot snap;
    store_.snapshot_into(snap);
    deliver(snap, r);
    return r;
  }

  /// Hands an existing snapshot to every transport (no host refresh, no store access).
  publish_result publish(const metrics_snapshot& snap) {
    publish_result r;
    deliver(snap, r);
    return r;
  }

  [[nodiscard]] static constexpr std::size_t transport_count() noexcept { return sizeof...(Transports); }
  [[nodiscard]] Store& store() const noexcept { return store_; }
  [[nodiscard]] Source& host_source() const noexcept { return source_; }
  /// The I-th transport.
  template <std::size_t I>
  [[nodiscard]] auto& get() const noexcept {
    return std::get<I>(transports_);
  }

 private:
  void deliver(const metrics_snapshot& snap, publish_result& r) {
    std::apply([&](auto&... t) { std::size_t i = 0; (deliver_one(t, i++, snap, r), ...); }, transports_);
  }

  template <class T>
  static void deliver_one(T& t, std::size_t index, const metrics_snapshot& snap, publish_result& r) {
    // A non-transport was already reported by the static_assert above; say nothing more.
    if constexpr (transport<T>) {
      deliver_checked(t, index, snap, r);
    }
  }

  template <class T>
  static void deliver_checked(T& t, std::size_t index, const metrics_snapshot& snap, publish_result& r) {
    try {
      t.publish(snap);
      ++r.delivered;
    } catch (const std::exception& e) {
      r.failures.push_back({index, name_of(t, index), e.what()});
    } catch (...) {
      r.failures.push_back({index, name_of(t, index), "non-standard exception"});
    }
  }

  template <class T>
  static std::string name_of(const T& t, std::size_t index) {
    if constexpr (requires { { t.name() } -> std::convertible_to<std::string_view>; }) {
      return std::string(std::string_view(t.name()));
    } else {
      return "transport #" + std::to_string(index);
    }
  }

  Store& store_;
  Source& source_;
  std::tuple<Transports&...> transports_;
};

/// The same as `exporter{store, source, transports...}`, for code that prefers a function.
template <class Store, class Source, class... Transports>
[[nodiscard]] exporter<Store, Source, Transports...> make_exporter(Store& metrics_store, Source& source,
                                                                  Transports&... transports) noexcept {
  return {metrics_store, source, transports...};
}

}  // namespace anklet::metrics
