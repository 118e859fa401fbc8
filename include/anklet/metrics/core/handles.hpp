// anklet::metrics store handles: O(1) access to one plugin of a store, without a name
// lookup (store.hpp). A handle points at a record that lives as long as its store.
// Standard headers only.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/core/status.hpp"

namespace anklet::metrics {

namespace detail {

// What receiver and handler handles share: a store and a record whose address is stable
// for the store's life (records live in a deque and are never removed).
template <class Store>
class handle_base {
 public:
  /// The plugin's unique name (immutable after registration).
  [[nodiscard]] const std::string& name() const noexcept { return record_->name; }

  /// Sets the status; when it differs from the current one, status_since becomes now.
  /// Returns whether anything changed.
  bool set_status(plugin_status s) const { return store_->locked_set_status(*record_, s); }

  /// Merges `u` into this plugin (see plugin_update).
  void update(const plugin_update& u) const { store_->locked_update(*record_, u); }

  friend bool operator==(const handle_base&, const handle_base&) = default;

 protected:
  handle_base(Store* store, typename Store::record_type* record) noexcept : store_(store), record_(record) {}
  Store* store_;
  typename Store::record_type* record_;
};

}  // namespace detail

/// O(1) access to one receiver: no name lookup. Valid for the life of its store; cheap to copy.
template <class Store>
class receiver_handle : public detail::handle_base<Store> {
  friend Store;
  using detail::handle_base<Store>::handle_base;
};

/// O(1) access to one handler: status, merges and run counters without a name lookup.
/// Valid for the life of its store; cheap to copy.
template <class Store>
class handler_handle : public detail::handle_base<Store> {
  friend Store;
  using base = detail::handle_base<Store>;
  using base::base;

 public:
  /// A VM started: the global running-VM count and this handler's total_ran_vms go up by one.
  void increment_running_vms() const { this->store_->locked_increment_running_vms(*this->record_); }
  /// A VM stopped: the global running-VM count goes down by one, never below zero.
  void decrement_running_vms() const { this->store_->decrement_running_vms(); }
  /// One more successful run, for the global total and this handler's own.
  void increment_successful_runs() const { this->store_->locked_count_run(*this->record_, run_outcome::successful); }
  /// One more failed run, for the global total and this handler's own.
  void increment_failed_runs() const { this->store_->locked_count_run(*this->record_, run_outcome::failed); }
  /// One more canceled run, for the global total and this handler's own.
  void increment_canceled_runs() const { this->store_->locked_count_run(*this->record_, run_outcome::canceled); }
  /// A run ended: counts it as above and sets the matching last-run time to now and its
  /// job URL, all in one critical section.
  /// A run ended: counts it as above and sets the matching last-run time to now and its
  /// job URL, all in one critical section. When the handler's status became in_progress
  /// since its previous finish_run, the time since then also goes into the job-duration
  /// histogram of `outcome`; otherwise (a run whose start the store did not see) nothing
  /// is observed.
  void finish_run(run_outcome outcome, std::string_view job_url) const {
    this->store_->locked_finish_run(*this->record_, outcome, job_url);
  }
  /// Observes a job duration the tool measured itself into the histogram of `outcome`
  /// (negative durations count as 0). Counters and last-run fields are left alone.
  template <class Rep, class Period>
  void observe_job_duration(run_outcome outcome, std::chrono::duration<Rep, Period> d) const {
    this->store_->locked_observe_job(*this->record_, outcome, std::chrono::duration<double>(d).count());
  }
  /// Observes a VM-template pull duration the tool measured itself.
  template <class Rep, class Period>
  void observe_pull_duration(std::chrono::duration<Rep, Period> d) const {
    this->store_->locked_observe_pull(*this->record_, std::chrono::duration<double>(d).count());
  }
};

}  // namespace anklet::metrics
