// Update path of the store, against a bare lock/unlock of the same mutex in the same run.
// Goal: by handle within 1.5x of the bare lock, flat from 1 to 1000 plugins.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include "anklet/metrics/store.hpp"

namespace am = anklet::metrics;

namespace {

// The peer: what any locked update must pay at least, plus the same counter bump.
template <class Lock>
void bare_lock(benchmark::State& state) {
  Lock lock;
  std::uint64_t counter = 0;
  for (auto _ : state) {
    lock.lock();
    ++counter;
    lock.unlock();
    benchmark::DoNotOptimize(counter);
  }
}

template <class Lock>
struct populated {
  am::basic_store<Lock> store;
  std::vector<typename am::basic_store<Lock>::handler_handle> handles;
  std::vector<std::string> names;
  explicit populated(std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
      names.push_back("handler-" + std::to_string(i) + "-of-the-fleet");
      handles.push_back(store.add_handler({names.back(), "github", "veertuinc", "anklet"}));
    }
  }
};

// Each iteration picks the next plugin, so 1000 plugins touch 1000 records, as a busy host would.
template <class Lock>
void increment_by_handle(benchmark::State& state) {
  populated<Lock> p(state.range(0));
  std::size_t i = 0;
  for (auto _ : state) {
    p.handles[i].increment_successful_runs();
    if (++i == p.handles.size()) i = 0;
  }
}

// One job-duration observation (a bucket search over the 13 default bounds, the sum and
// the count), durations spread over every bucket.
template <class Lock>
void observe_by_handle(benchmark::State& state) {
  populated<Lock> p(state.range(0));
  std::size_t i = 0;
  std::int64_t seconds = 0;
  for (auto _ : state) {
    p.handles[i].observe_job_duration(am::run_outcome::successful, std::chrono::seconds(seconds));
    seconds = seconds >= 30000 ? 0 : seconds + 997;
    if (++i == p.handles.size()) i = 0;
  }
}

template <class Lock>
void increment_by_name(benchmark::State& state) {
  populated<Lock> p(state.range(0));
  std::size_t i = 0;
  for (auto _ : state) {
    p.store.increment_successful_runs(p.names[i]);
    if (++i == p.names.size()) i = 0;
  }
}

// Alternates two statuses, so every call is a real change that also reads the clock.
template <class Lock>
void set_status_by_handle(benchmark::State& state) {
  populated<Lock> p(state.range(0));
  std::size_t i = 0;
  bool flip = false;
  for (auto _ : state) {
    p.handles[i].set_status(flip ? am::plugin_status::running : am::plugin_status::idle);
    if (++i == p.handles.size()) {
      i = 0;
      flip = !flip;
    }
  }
}

template <class Lock>
void set_status_by_name(benchmark::State& state) {
  populated<Lock> p(state.range(0));
  std::size_t i = 0;
  bool flip = false;
  for (auto _ : state) {
    p.store.set_status(p.names[i], flip ? am::plugin_status::running : am::plugin_status::idle);
    if (++i == p.names.size()) {
      i = 0;
      flip = !flip;
    }
  }
}

}  // namespace

#define ANKLET_BENCH_POLICY(Lock)                                                    \
  BENCHMARK_TEMPLATE(bare_lock, Lock);                                               \
  BENCHMARK_TEMPLATE(increment_by_handle, Lock)->Arg(1)->Arg(1000);                  \
  BENCHMARK_TEMPLATE(observe_by_handle, Lock)->Arg(1)->Arg(1000);                    \
  BENCHMARK_TEMPLATE(increment_by_name, Lock)->Arg(1)->Arg(1000);                    \
  BENCHMARK_TEMPLATE(set_status_by_handle, Lock)->Arg(1)->Arg(1000);                 \
  BENCHMARK_TEMPLATE(set_status_by_name, Lock)->Arg(1)->Arg(1000)

ANKLET_BENCH_POLICY(am::shared_mutex_lock);
ANKLET_BENCH_POLICY(am::mutex_lock);
ANKLET_BENCH_POLICY(am::null_lock);

BENCHMARK_MAIN();
