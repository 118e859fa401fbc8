// anklet::metrics store: the in-memory metrics of one process (Go's MetricsDataLock).
//
// Job durations: a handler's job starts when its status becomes in_progress and ends at
// finish_run, which observes the time between into the job-duration histogram of its
// outcome (docs/metrics.md, "Histograms"). Time spent in status pulling goes into the
// pull histogram when the status moves on. Both read the store's clock; an observation is
// O(log buckets) under the lock the call takes anyway, with no allocation.
//
// Thread safety: every public member function of basic_store and of its handles may be
// called from any thread at the same time, provided the lock policy is a real mutex
// (shared_mutex_lock or mutex_lock). With null_lock the store is for one thread only.
// Each call takes the lock once, at its entry, and never calls back into user code while
// holding it. Snapshots are taken under the shared lock and are plain copies: render or
// send them with no lock held.
//
// This header deliberately includes neither {fmt} nor socket headers, so that the many
// files of a tool that only update metrics stay cheap to compile.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "anklet/metrics/core/clock.hpp"
#include "anklet/metrics/core/handles.hpp"
#include "anklet/metrics/core/lock_policy.hpp"
#include "anklet/metrics/core/model.hpp"

namespace anklet::metrics {

/// Thrown when an operation names a plugin that was never registered. Nothing was changed.
class unknown_plugin_error : public std::out_of_range {
 public:
  explicit unknown_plugin_error(std::string_view name)
      : std::out_of_range("unknown plugin '" + std::string(name) + "'"), name_(name) {}
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
};

/// Thrown when an operation needs a handler but the named plugin is a receiver, or the
/// other way round. Nothing was changed.
class plugin_kind_error : public std::logic_error {
 public:
  plugin_kind_error(std::string_view name, plugin_kind actual, std::string_view what)
      : std::logic_error("plugin '" + std::string(name) + "' is a " +
                         (actual == plugin_kind::handler ? "handler" : "receiver") + ": " + std::string(what)),
        name_(name),
        actual_(actual) {}
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] plugin_kind actual_kind() const noexcept { return actual_; }

 private:
  std::string name_;
  plugin_kind actual_;
};

/// Settings fixed when a store is made.
struct store_options {
  /// Upper bounds, in seconds, of every handler's job-duration buckets (finite, strictly
  /// increasing; +Inf is implied). Seconds to hours by default.
  std::vector<double> job_duration_buckets{default_job_duration_buckets.begin(), default_job_duration_buckets.end()};
  /// Upper bounds, in seconds, of the VM-template pull buckets.
  std::vector<double> pull_duration_buckets{default_pull_duration_buckets.begin(), default_pull_duration_buckets.end()};
};

namespace detail {

// A plugin as the store keeps it: its metrics, and when its current job and pull began
// (never when none is under way).
struct store_record : plugin_metrics {
  time_point job_started = never;
  time_point pull_started = never;
};

// Seconds from `from` to `to`, never negative (the wall clock may step back).
inline double seconds_between(time_point from, time_point to) noexcept {
  const double s = std::chrono::duration<double>(to - from).count();
  return s > 0 ? s : 0.0;
}

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace detail

/// The metrics store, templated on a lock policy and a clock. Not copyable or movable:
/// handles point into it.
template <lock_policy Lock = shared_mutex_lock, clock_source Clock = coarse_system_clock>
class basic_store {
 public:
  using lock_type = Lock;
  using clock_type = Clock;
  using record_type = detail::store_record;
  using handler_handle = metrics::handler_handle<basic_store>;
  using receiver_handle = metrics::receiver_handle<basic_store>;

  basic_store() requires std::default_initializable<Clock> : basic_store(Clock{}, store_options{}) {}
  /// Throws std::invalid_argument when a bucket list is not finite and strictly increasing.
  explicit basic_store(store_options options) requires std::default_initializable<Clock>
      : basic_store(Clock{}, std::move(options)) {}
  explicit basic_store(Clock clock, store_options options = {})
      : clock_(std::move(clock)),
        job_bounds_(checked_bounds(std::move(options.job_duration_buckets), "job_duration_buckets")),
        pull_bounds_(checked_bounds(std::move(options.pull_duration_buckets), "pull_duration_buckets")) {}
  basic_store(const basic_store&) = delete;
  basic_store& operator=(const basic_store&) = delete;

  // ---- registration -------------------------------------------------------------

  /// Registers a plugin of `kind` (Go's AddPlugin) with status idle since now.
  /// A name that is already registered, of either kind, is left as it is: returns false.
  bool add_plugin(plugin_kind kind, plugin_info info) {
    std::unique_lock lock(mutex_);
    return emplace(kind, std::move(info)).second;
  }

  /// Registers a handler (or finds the one registered under info.name) and returns its handle.
  /// Throws plugin_kind_error if the name belongs to a receiver.
  handler_handle add_handler(plugin_info info) { return handler_handle(this, &add_of_kind(plugin_kind::handler, std::move(info))); }

  /// Registers a receiver (or finds the one registered under info.name) and returns its handle.
  /// Throws plugin_kind_error if the name belongs to a handler.
  receiver_handle add_receiver(plugin_info info) {
    return receiver_handle(this, &add_of_kind(plugin_kind::receiver, std::move(info)));
  }

  /// The handle of a registered handler. Throws unknown_plugin_error or plugin_kind_error.
  [[nodiscard]] handler_handle handler(std::string_view name) {
    std::shared_lock lock(mutex_);
    return handler_handle(this, &find_of_kind(name, plugin_kind::handler, "not a handler"));
  }

  /// The handle of a registered receiver. Throws unknown_plugin_error or plugin_kind_error.
  [[nodiscard]] receiver_handle receiver(std::string_view name) {
    std::shared_lock lock(mutex_);
    return receiver_handle(this, &find_of_kind(name, plugin_kind::receiver, "not a receiver"));
  }

  [[nodiscard]] bool contains(std::string_view name) const {
    std::shared_lock lock(mutex_);
    return index_.find(name) != index_.end();
  }

  [[nodiscard]] std::size_t plugin_count() const {
    std::shared_lock lock(mutex_);
    return records_.size();
  }

  // ---- updates by name (the seed's API); each throws unknown_plugin_error -------

  /// Sets the named plugin's status; status_since becomes now when it changes. Returns
  /// whether anything changed.
  bool set_status(std::string_view name, plugin_status s) {
    std::unique_lock lock(mutex_);
    return apply_status(find(name), s);
  }

  /// Merges `u` into the named plugin. Throws plugin_kind_error when `u` sets handler
  /// fields on a receiver.
  void update_plugin(std::string_view name, const plugin_update& u) {
    std::unique_lock lock(mutex_);
    apply_update(find(name), u);
  }

  /// Global running VMs and the named handler's total_ran_vms, up by one.
  void increment_running_vms(std::string_view handler_name) {
    std::unique_lock lock(mutex_);
    bump_running_vms(find_of_kind(handler_name, plugin_kind::handler, "only handlers run VMs"));
  }

  /// Global running VMs down by one, stopping at zero.
  void decrement_running_vms() {
    std::unique_lock lock(mutex_);
    if (data_.total_running_vms > 0) {
      --data_.total_running_vms;
      changed();
    }
  }

  /// One more successful run, globally and for the named handler.
  void increment_successful_runs(std::string_view handler_name) { count_run_by_name(handler_name, run_outcome::successful); }
  /// One more failed run, globally and for the named handler.
  void increment_failed_runs(std::string_view handler_name) { count_run_by_name(handler_name, run_outcome::failed); }
  /// One more canceled run, globally and for the named handler.
  void increment_canceled_runs(std::string_view handler_name) { count_run_by_name(handler_name, run_outcome::canceled); }

  /// Changes the host figures in one step under the store's lock: `f(host_metrics&)` must
  /// be quick and must not call the store (refresh_host_metrics uses it to replace only
  /// the parts that were read, whatever another refresh does meanwhile).
  template <class F>
  void update_host_metrics(F&& f) {
    std::unique_lock lock(mutex_);
    host_metrics h = data_.host;
    std::forward<F>(f)(h);
    if (data_.host != h) {
      data_.host = h;
      changed();
    }
  }

  /// Replaces the host figures (sample them first, with no lock held).
  void set_host_metrics(const host_metrics& h) {
    std::unique_lock lock(mutex_);
    if (data_.host != h) {
      data_.host = h;
      changed();
    }
  }

  // ---- reading ------------------------------------------------------------------

  /// A copy of everything, with last_update = now.
  [[nodiscard]] metrics_snapshot snapshot() const {
    metrics_snapshot out;
    snapshot_into(out);
    return out;
  }

  /// Copies everything into `out`, reusing its storage (no allocation once `out` has
  /// seen as many plugins with names as long). Returns the generation the copy reflects.
  std::uint64_t snapshot_into(metrics_snapshot& out) const {
    std::shared_lock lock(mutex_);
    out.last_update = clock_.now();
    out.total_running_vms = data_.total_running_vms;
    out.total_successful_runs_since_start = data_.total_successful_runs_since_start;
    out.total_failed_runs_since_start = data_.total_failed_runs_since_start;
    out.total_canceled_runs_since_start = data_.total_canceled_runs_since_start;
    out.host = data_.host;
    out.job_duration_buckets = job_bounds_;
    out.pull_duration_buckets = pull_bounds_;
    out.plugins.resize(records_.size());
    auto dst = out.plugins.begin();
    for (const auto& r : records_) *dst++ = r;
    return generation_.load(std::memory_order_relaxed);
  }

  /// A number that changes whenever the store's content does; equal numbers mean equal
  /// content (apart from last_update). Lock-free, for caches of rendered output.
  [[nodiscard]] std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

  /// The store's clock, e.g. to advance a manual_clock in tests.
  [[nodiscard]] Clock& clock() noexcept { return clock_; }
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

 private:
  friend detail::handle_base<basic_store>;
  friend metrics::handler_handle<basic_store>;

  static std::vector<double> checked_bounds(std::vector<double> b, const char* what) {
    for (std::size_t i = 0; i < b.size(); ++i) {
      const bool finite = b[i] >= std::numeric_limits<double>::lowest() && b[i] <= std::numeric_limits<double>::max();
      if (!finite || (i > 0 && !(b[i] > b[i - 1]))) {
        throw std::invalid_argument(std::string("store_options::") + what + ": bounds must be finite and strictly increasing");
      }
    }
    return b;
  }

  std::pair<record_type*, bool> emplace(plugin_kind kind, plugin_info&& info) {
    if (const auto it = index_.find(std::string_view(info.name)); it != index_.end()) return {it->second, false};
    auto& r = records_.emplace_back();
    r.kind = kind;
    r.name = std::move(info.name);
    r.plugin_name = std::move(info.plugin_name);
    r.owner_name = std::move(info.owner_name);
    r.repo_name = std::move(info.repo_name);
    r.label_text.assign(r.name, r.plugin_name, r.owner_name, r.repo_name);
    r.status = plugin_status::idle;
    r.status_since = clock_.now();
    if (kind == plugin_kind::handler) {
      for (auto& h : r.job_durations) h.reset(job_bounds_.size());
      r.pull_durations.reset(pull_bounds_.size());
    }
    index_.emplace(r.name, &r);
    changed();
    return {&r, true};
  }

  record_type& add_of_kind(plugin_kind kind, plugin_info&& info) {
    std::unique_lock lock(mutex_);
    auto& r = *emplace(kind, std::move(info)).first;
    if (r.kind != kind) throw plugin_kind_error(r.name, r.kind, "registered under that name already");
    return r;
  }

  record_type& find(std::string_view name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) throw unknown_plugin_error(name);
    return *it->second;
  }

  record_type& find_of_kind(std::string_view name, plugin_kind kind, std::string_view why) const {
    auto& r = find(name);
    if (r.kind != kind) throw plugin_kind_error(name, r.kind, why);
    return r;
  }

  // Writers hold the exclusive lock, so a plain store suffices and avoids a locked
  // read-modify-write on every update.
  void changed() noexcept {
    generation_.store(generation_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  bool apply_status(record_type& r, plugin_status s) {
    if (r.status == s) return false;
    const auto now = clock_.now();
    if (r.is_handler()) track_phases(r, s, now);
    r.status = s;
    r.status_since = now;
    changed();
    return true;
  }

  // A handler's status moves from r.status to `to` at `at`: a pull that ends is observed,
  // a job or pull that begins is remembered (a second in_progress without finish_run
  // starts the job again: the earlier one was never finished).
  void track_phases(record_type& r, plugin_status to, time_point at) noexcept {
    if (r.status == plugin_status::pulling && !is_never(r.pull_started)) {
      r.pull_durations.observe(pull_bounds_, detail::seconds_between(r.pull_started, at));
      r.pull_started = never;
    }
    if (to == plugin_status::pulling) r.pull_started = at;
    if (to == plugin_status::in_progress) r.job_started = at;
  }

  void apply_update(record_type& r, const plugin_update& u) {
    if (r.kind == plugin_kind::receiver && u.touches_handler_fields()) {
      throw plugin_kind_error(r.name, r.kind, "run times, job URLs and counters are for handlers only");
    }
    const auto set_string = [](std::string& dst, const std::string& src) {
      if (!src.empty()) dst = src;
    };
    const auto set_time = [](time_point& dst, time_point src) {
      if (!is_never(src)) dst = src;
    };
    const auto raise = [](std::uint64_t& dst, std::uint64_t src) {
      if (src > dst) dst = src;
    };
    set_string(r.plugin_name, u.plugin_name);
    set_string(r.repo_name, u.repo_name);
    set_string(r.owner_name, u.owner_name);
    if (!u.plugin_name.empty() || !u.repo_name.empty() || !u.owner_name.empty()) {
      r.label_text.assign(r.name, r.plugin_name, r.owner_name, r.repo_name);
    }
    if (u.status && apply_status(r, *u.status) && !is_never(u.status_since)) {
      // The phase began when the merge says the status did.
      if (r.job_started == r.status_since) r.job_started = u.status_since;
      if (r.pull_started == r.status_since) r.pull_started = u.status_since;
    }
    set_time(r.status_since, u.status_since);
    set_string(r.last_successful_run_job_url, u.last_successful_run_job_url);
    set_string(r.last_failed_run_job_url, u.last_failed_run_job_url);
    set_string(r.last_canceled_run_job_url, u.last_canceled_run_job_url);
    set_time(r.last_successful_run, u.last_successful_run);
    set_time(r.last_failed_run, u.last_failed_run);
    set_time(r.last_canceled_run, u.last_canceled_run);
    raise(r.total_ran_vms, u.total_ran_vms);
    raise(r.total_successful_runs_since_start, u.total_successful_runs_since_start);
    raise(r.total_failed_runs_since_start, u.total_failed_runs_since_start);
    raise(r.total_canceled_runs_since_start, u.total_canceled_runs_since_start);
    changed();
  }

  void bump_running_vms(record_type& r) {
    ++data_.total_running_vms;
    ++r.total_ran_vms;
    changed();
  }

  void bump_run(record_type& r, run_outcome outcome) {
    switch (outcome) {
      case run_outcome::successful:
        ++data_.total_successful_runs_since_start;
        ++r.total_successful_runs_since_start;
        break;
      case run_outcome::failed:
        ++data_.total_failed_runs_since_start;
        ++r.total_failed_runs_since_start;
        break;
      case run_outcome::canceled:
        ++data_.total_canceled_runs_since_start;
        ++r.total_canceled_runs_since_start;
        break;
    }
    changed();
  }

  void count_run_by_name(std::string_view name, run_outcome outcome) {
    std::unique_lock lock(mutex_);
    bump_run(find_of_kind(name, plugin_kind::handler, "only handlers count runs"), outcome);
  }

  // Entry points for handles: lock once, then the same helpers as the by-name API.
  bool locked_set_status(record_type& r, plugin_status s) {
    std::unique_lock lock(mutex_);
    return apply_status(r, s);
  }
  void locked_update(record_type& r, const plugin_update& u) {
    std::unique_lock lock(mutex_);
    apply_update(r, u);
  }
  void locked_increment_running_vms(record_type& r) {
    std::unique_lock lock(mutex_);
    bump_running_vms(r);
  }
  void locked_count_run(record_type& r, run_outcome outcome) {
    std::unique_lock lock(mutex_);
    bump_run(r, outcome);
  }
  void locked_observe_job(record_type& r, run_outcome outcome, double seconds) {
    std::unique_lock lock(mutex_);
    r.job_durations[static_cast<std::size_t>(outcome)].observe(job_bounds_, seconds > 0 ? seconds : 0.0);
    changed();
  }
  void locked_observe_pull(record_type& r, double seconds) {
    std::unique_lock lock(mutex_);
    r.pull_durations.observe(pull_bounds_, seconds > 0 ? seconds : 0.0);
    changed();
  }
  void locked_finish_run(record_type& r, run_outcome outcome, std::string_view job_url) {
    std::unique_lock lock(mutex_);
    const auto now = clock_.now();
    if (!is_never(r.job_started)) {
      r.job_durations[static_cast<std::size_t>(outcome)].observe(job_bounds_, detail::seconds_between(r.job_started, now));
      r.job_started = never;
    }
    switch (outcome) {
      case run_outcome::successful:
        r.last_successful_run = now;
        r.last_successful_run_job_url.assign(job_url);
        break;
      case run_outcome::failed:
        r.last_failed_run = now;
        r.last_failed_run_job_url.assign(job_url);
        break;
      case run_outcome::canceled:
        r.last_canceled_run = now;
        r.last_canceled_run_job_url.assign(job_url);
        break;
    }
    bump_run(r, outcome);
  }

  mutable Lock mutex_;
  [[no_unique_address]] Clock clock_;
  std::vector<double> job_bounds_;
  std::vector<double> pull_bounds_;
  metrics_snapshot data_;  // totals and host figures; its plugins vector stays empty
  std::deque<record_type> records_;
  std::unordered_map<std::string_view, record_type*, detail::string_hash, std::equal_to<>> index_;
  std::atomic<std::uint64_t> generation_{0};
};

/// The default store: shared mutex, coarse wall clock; for multi-threaded tools.
using store = basic_store<shared_mutex_lock>;
/// A store behind one plain mutex.
using store_mutex = basic_store<mutex_lock>;
/// A store without locking, for single-threaded tools and tests.
using store_st = basic_store<null_lock>;

}  // namespace anklet::metrics
