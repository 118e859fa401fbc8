// A tiny "tool": runs CI jobs in VMs and keeps its metrics up to date, the way an Anklet
// handler does. It is written against a Store template parameter so that production code
// uses anklet::metrics::store (shared mutex, wall clock) and unit tests use
// anklet::metrics::testing::test_store (no lock, manual clock).
#pragma once

#include <functional>
#include <string>
#include <utility>

#include <anklet/metrics/store.hpp>  // what updating metrics needs: no {fmt}, no sockets

namespace tool {

/// One job to run.
struct job {
  std::string url;
  std::string vm_template;
};

/// What running a job inside a VM produced.
enum class job_result { succeeded, failed, canceled };

template <class Store>
class job_runner {
 public:
  /// `execute` runs a job inside a started VM (the real tool talks to Anka here).
  /// `template_cached` says whether a VM template is on the host already.
  job_runner(Store& metrics, const std::string& name, const std::string& owner,
             std::function<job_result(const job&)> execute, std::function<bool(const std::string&)> template_cached)
      : metrics_(metrics.add_handler({.name = name, .plugin_name = "github", .owner_name = owner, .repo_name = ""})),
        execute_(std::move(execute)),
        template_cached_(std::move(template_cached)) {}

  /// Runs one job: pulls the template when needed, starts a VM, runs the job in it,
  /// stops the VM and records how the run ended. Back to idle afterwards.
  job_result run(const job& j) {
    namespace am = anklet::metrics;
    if (!template_cached_(j.vm_template)) metrics_.set_status(am::plugin_status::pulling);
    metrics_.set_status(am::plugin_status::running);
    metrics_.increment_running_vms();
    metrics_.set_status(am::plugin_status::in_progress);
    const job_result result = execute_(j);
    metrics_.decrement_running_vms();
    metrics_.finish_run(outcome_of(result), j.url);
    metrics_.set_status(am::plugin_status::idle);
    return result;
  }

  /// Stops taking jobs (shutdown).
  void stop() { metrics_.set_status(anklet::metrics::plugin_status::stopped); }

 private:
  static anklet::metrics::run_outcome outcome_of(job_result r) {
    switch (r) {
      case job_result::failed: return anklet::metrics::run_outcome::failed;
      case job_result::canceled: return anklet::metrics::run_outcome::canceled;
      case job_result::succeeded: break;
    }
    return anklet::metrics::run_outcome::successful;
  }

  typename Store::handler_handle metrics_;
  std::function<job_result(const job&)> execute_;
  std::function<bool(const std::string&)> template_cached_;
};

}  // namespace tool
